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
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// brokenStore is a real store whose writes can be made to fail, like a
// full disk or a lost database.
type brokenStore struct {
	store.Store
	fail bool
}

var errDisk = errors.New("disk I/O error")

func (b *brokenStore) RevokeSession(ctx context.Context, appID, id string, at time.Time) (gatehouse.Session, error) {
	if b.fail {
		return gatehouse.Session{}, errDisk
	}
	return b.Store.RevokeSession(ctx, appID, id, at)
}

func (b *brokenStore) UpdateUser(ctx context.Context, appID, userID string, f func(*gatehouse.User) error, revoke bool) (gatehouse.User, []gatehouse.Session, error) {
	if b.fail {
		return gatehouse.User{}, nil, errDisk
	}
	return b.Store.UpdateUser(ctx, appID, userID, f, revoke)
}

func (b *brokenStore) Login(ctx context.Context, l store.LoginRecord, check func(*gatehouse.User, bool) error) (store.LoginResult, error) {
	if b.fail {
		return store.LoginResult{}, errDisk
	}
	return b.Store.Login(ctx, l, check)
}

// TestStoreFailuresNeverClaimSuccess: when the store cannot write, logout,
// ban and login report a retryable error (503 on the wire), never success,
// and the in-memory state does not run ahead of the store (SECURITY.md
// A.9 #87, #89; A.8 #83).
func TestStoreFailuresNeverClaimSuccess(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &brokenStore{Store: db}
	svc := session.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), session.Config{})
	if err := svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	a, key, _ := svc.CreateApp(t.Context(), "app")
	res, err := svc.Login(t.Context(), key, &session.LoginInput{UserID: "alice", DeviceID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	tok := res.AccessToken.Reveal()

	st.fail = true
	if err := svc.Logout(t.Context(), tok); gatehouse.ErrorCode(err) != gatehouse.Unavailable {
		t.Fatalf("logout with the store down: %v, want unavailable", err)
	}
	if _, err := svc.Ban(t.Context(), a.ID, "alice"); gatehouse.ErrorCode(err) != gatehouse.Unavailable {
		t.Fatalf("ban with the store down: %v, want unavailable", err)
	}
	// Nothing was written, so nothing changed: the token still works (the
	// client, told the logout failed, stays logged in and retries).
	if _, err := svc.Authenticate(t.Context(), tok); err != nil {
		t.Fatalf("a failed logout changed the token's state: %v", err)
	}
	// A new login on another device needs the store: refused, retryable.
	if _, err := svc.Login(t.Context(), key, &session.LoginInput{UserID: "bob", DeviceID: "d2"}); gatehouse.ErrorCode(err) != gatehouse.Unavailable {
		t.Fatalf("login with the store down: %v, want unavailable", err)
	}
	st.fail = false
	if err := svc.Logout(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), tok); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("after the retried logout: %v", err)
	}
}
