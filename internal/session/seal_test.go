package session_test

import (
	"bytes"
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
	"github.com/gatehouse-auth/gatehouse/token"
)

// sealedEnv opens path with sealKey (nil: none) and loads a service on it.
func sealedEnv(t *testing.T, path string, sealKey []byte) (*session.Service, *sqlite.DB, error) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := session.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), session.Config{SealKey: sealKey})
	return svc, db, svc.Load(t.Context())
}

// forge signs an access token for the victim with keys read straight from
// the store, as someone holding a copy of the database file would.
func forge(t *testing.T, db *sqlite.DB, victim session.Principal) (string, error) {
	keys, err := db.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewRing(keys)
	if err != nil {
		return "", err
	}
	now := time.Now().Unix()
	return ring.Sign(&token.AccessClaims{
		User:   token.UserClaim{UserInternalID: victim.UserInternalID, PublicUserID: victim.PublicUserID, NetworkID: victim.AppID},
		Issuer: "gatehouse", Subject: victim.UserInternalID, Audience: victim.AppID, SessionID: victim.SessionID,
		ID: "forged", IssuedAt: now, ExpiresAt: now + 3600,
	})
}

// Issue 8 item 7: the signing keys' seeds and the auth-token HMAC key were
// stored in plain text, and with the seed from the database file anyone
// could sign a token for any user. Now both are sealed with the seal key:
// the stored seeds sign nothing, the stored auth-token key is no HMAC key.
func TestServerKeysSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	svc, db, err := sealedEnv(t, path, testenv.SealKey)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := svc.CreateApp(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Login(t.Context(), key, &session.LoginInput{UserID: "victim", DeviceID: "d"})
	if err != nil {
		t.Fatal(err)
	}
	victim, err := svc.Authenticate(t.Context(), res.AccessToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if forged, err := forge(t, db, victim); err == nil {
		_, aerr := svc.Authenticate(t.Context(), forged)
		t.Fatalf("the stored signing key signs tokens (accepted: %v)", aerr == nil)
	}
	ak, err := db.Secret(t.Context(), "auth_token_key")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ak, []byte("gatehouse-sealed-v1:")) || len(ak) < 32+28 {
		t.Fatalf("auth-token key stored in plain text (%d bytes)", len(ak))
	}
	// A restart with the same seal key reads them back: old tokens verify.
	db.Close()
	svc, db, err = sealedEnv(t, path, testenv.SealKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), res.AccessToken.Reveal()); err != nil {
		t.Fatalf("token refused after a restart: %v", err)
	}
	// Another seal key does not open them: Load refuses rather than run
	// with keys it cannot read.
	other := bytes.Repeat([]byte{7}, 32)
	if _, _, err := sealedEnv(t, path, other); !errors.Is(err, session.ErrSealKey) {
		t.Fatalf("Load with a wrong seal key: %v, want ErrSealKey", err)
	}
	if _, _, err := sealedEnv(t, path, nil); !errors.Is(err, session.ErrSealKey) {
		t.Fatalf("Load without a seal key: %v, want ErrSealKey", err)
	}
	if sealed, err := session.HoldsSealedData(t.Context(), db); err != nil || !sealed {
		t.Fatalf("HoldsSealedData = %v, %v", sealed, err)
	}
}

// A store written by a version that kept these keys in plain text is
// sealed in place on the first start with a seal key, and everything it
// issued before keeps working: access tokens and auth tokens.
func TestPlainServerKeysMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	svc, db, err := sealedEnv(t, path, nil) // as before sealing: plain
	if err != nil {
		t.Fatal(err)
	}
	a, key, err := svc.CreateApp(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	_, sk, err := svc.CreateKey(t.Context(), a.ID, gatehouse.ServerKey, "backend")
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Login(t.Context(), key, &session.LoginInput{UserID: "alice", DeviceID: "d"})
	if err != nil {
		t.Fatal(err)
	}
	authTok, _, err := svc.MintAuthToken(t.Context(), sk, "bob")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := svc.Authenticate(t.Context(), res.AccessToken.Reveal())
	if _, err := forge(t, db, p); err != nil {
		t.Fatalf("setup: the plain store's seed should sign: %v", err)
	}
	if sealed, _ := session.HoldsSealedData(t.Context(), db); sealed {
		t.Fatal("a plain store reported as sealed")
	}
	db.Close()

	svc, db, err = sealedEnv(t, path, testenv.SealKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), res.AccessToken.Reveal()); err != nil {
		t.Fatalf("token issued before the migration refused: %v", err)
	}
	if _, err := forge(t, db, p); err == nil {
		t.Fatal("the seed is still in plain text after the migration")
	}
	on := true
	if _, err := svc.UpdateApp(t.Context(), a.ID, session.AppUpdate{SecureMode: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(t.Context(), key, &session.LoginInput{UserID: "bob", DeviceID: "d2", AuthToken: authTok.Reveal()}); err != nil {
		t.Fatalf("auth token minted before the migration refused: %v", err)
	}
	if ak, _ := db.Secret(t.Context(), "auth_token_key"); !bytes.HasPrefix(ak, []byte("gatehouse-sealed-v1:")) {
		t.Fatal("the auth-token key is still in plain text after the migration")
	}
	if sealed, _ := session.HoldsSealedData(t.Context(), db); !sealed {
		t.Fatal("HoldsSealedData false after the migration")
	}
}
