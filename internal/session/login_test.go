package session_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

func newClocked(t *testing.T) (*session.Service, *sqlite.DB, *testenv.Clock) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := testenv.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	svc := session.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), session.Config{Now: c.Now})
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, db, c
}

// TestStoredExpiryCoversEveryToken checks the invariant the login fast path
// relies on: whatever path a login takes, the stored session's expiry is
// never before the expiry of a token issued for it.
func TestStoredExpiryCoversEveryToken(t *testing.T) {
	svc, db, clock := newClocked(t)
	ctx := t.Context()
	_, key, err := svc.CreateApp(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	req := &session.LoginInput{UserID: "alice", DeviceID: "d1", DeviceInfo: gatehouse.DeviceInfo{Kind: "web"}}
	var sid string
	for _, step := range []time.Duration{0, time.Minute, time.Hour, 23 * time.Hour, 2 * time.Hour, 72 * time.Hour} {
		clock.Advance(step)
		r, err := svc.Login(ctx, key, req)
		if err != nil {
			t.Fatal(err)
		}
		if sid != "" && r.Session.ID != sid {
			t.Fatalf("same user on the same device got a new session %s (was %s)", r.Session.ID, sid)
		}
		sid = r.Session.ID
		stored, err := db.GetSession(ctx, r.Session.AppID, sid)
		if err != nil {
			t.Fatal(err)
		}
		if stored.ExpiresAt.Before(r.ExpiresAt) {
			t.Fatalf("after +%s: stored session expires %s, before its new token %s", step, stored.ExpiresAt, r.ExpiresAt)
		}
		if _, err := svc.Authenticate(context.Background(), r.AccessToken.Reveal()); err != nil {
			t.Fatalf("fresh token refused: %v", err)
		}
	}
}

// TestFastPathHonoursRevocationAndBans: a returning user's login on the same
// device never reuses a revoked session or skips a ban.
func TestFastPathHonoursRevocationAndBans(t *testing.T) {
	svc, _, _ := newClocked(t)
	ctx := t.Context()
	a, key, _ := svc.CreateApp(ctx, "app")
	req := &session.LoginInput{UserID: "alice", DeviceID: "d1"}
	first, err := svc.Login(ctx, key, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, first.AccessToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	second, err := svc.Login(ctx, key, req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Session.ID == first.Session.ID {
		t.Fatal("login after logout reused the revoked session")
	}
	if _, err := svc.Authenticate(context.Background(), second.AccessToken.Reveal()); err != nil {
		t.Fatalf("token after re-login refused: %v", err)
	}
	if _, err := svc.Ban(ctx, a.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, key, req); gatehouse.ErrorCode(err) != gatehouse.Banned {
		t.Fatalf("banned user's login on the same device: %v, want banned", err)
	}
	if _, err := svc.Unban(ctx, a.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	third, err := svc.Login(ctx, key, req)
	if err != nil {
		t.Fatal(err)
	}
	if third.Session.ID == second.Session.ID {
		t.Fatal("login after ban/unban reused the session the ban revoked")
	}
	if _, err := svc.Delete(ctx, a.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	var ge *gatehouse.Error
	if _, err := svc.Login(ctx, key, req); !errors.As(err, &ge) || ge.Code != gatehouse.Forbidden {
		t.Fatalf("deleted user's login: %v, want forbidden", err)
	}
}
