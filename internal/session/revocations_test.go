package session

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The revocation index alone: no store, no service.

func TestRevocationIndexSessions(t *testing.T) {
	x := newRevocationIndex()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if x.sessionRevoked("s1") {
		t.Fatal("empty index: s1 revoked")
	}
	x.revokeSession("s1", t0.Add(time.Hour))
	x.revokeSessions([]gatehouse.Session{{ID: "s2", ExpiresAt: t0.Add(2 * time.Hour)}, {ID: "s3", ExpiresAt: t0}})
	for _, id := range []string{"s1", "s2", "s3"} {
		if !x.sessionRevoked(id) {
			t.Errorf("%s not revoked", id)
		}
	}
	if x.sessionRevoked("s4") {
		t.Error("s4 revoked, never was")
	}
	// gc forgets only what expired before the cutoff.
	x.gc(t0.Add(90 * time.Minute))
	if x.sessionRevoked("s1") || x.sessionRevoked("s3") {
		t.Error("gc kept sessions expired before the cutoff")
	}
	if !x.sessionRevoked("s2") {
		t.Error("gc dropped s2, which expires after the cutoff")
	}
}

func TestRevocationIndexUsers(t *testing.T) {
	x := newRevocationIndex()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if f := x.user("u1"); f != (userFlags{}) {
		t.Fatalf("unknown user has restrictions %+v", f)
	}
	x.setUser(gatehouse.User{ID: "u1", Banned: true})
	x.setUser(gatehouse.User{ID: "u2", Deleted: true})
	x.setUser(gatehouse.User{ID: "u3", TokensValidAfter: t0})
	if f := x.user("u1"); !f.banned || f.deleted {
		t.Errorf("u1 = %+v, want banned", f)
	}
	if f := x.user("u2"); !f.deleted || f.banned {
		t.Errorf("u2 = %+v, want deleted", f)
	}
	if f := x.user("u3"); !f.validAfter.Equal(t0) || f.banned || f.deleted {
		t.Errorf("u3 = %+v, want valid after %v", f, t0)
	}
	// Unbanning (no restriction left) forgets the user; so does forgetUser.
	x.setUser(gatehouse.User{ID: "u1"})
	x.forgetUser("u2")
	if len(x.users) != 1 || x.user("u1") != (userFlags{}) || x.user("u2") != (userFlags{}) {
		t.Errorf("users = %+v, want only u3", x.users)
	}
	// gc never forgets restrictions: they do not expire.
	x.gc(t0.Add(1000 * time.Hour))
	if x.user("u3").validAfter.IsZero() {
		t.Error("gc dropped a user restriction")
	}
}

func TestRevocationIndexTokens(t *testing.T) {
	x := newRevocationIndex()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	raw := "header.payload.signature"
	key, legacy := revocationKey(raw), legacyRevocationKey(raw)

	x.revokeToken(key, t0.Add(time.Hour))
	if !x.tokenRevoked(key, "") || !x.tokenRevoked(key, legacy) {
		t.Error("token revoked under its key not seen")
	}
	if x.legacyKeys() {
		t.Error("a revocation under the current key turned legacy checks on")
	}
	if x.tokenRevoked(revocationKey("other.payload.signature"), "") {
		t.Error("another token revoked")
	}

	// A legacy row loaded at start: matched under the legacy key only when
	// the caller passes it, and legacy checks are on from then on.
	y := newRevocationIndex()
	y.loadToken(legacy, t0.Add(time.Hour))
	if !y.legacyKeys() {
		t.Fatal("loading a legacy revocation did not turn legacy checks on")
	}
	if y.tokenRevoked(key, "") {
		t.Error("legacy revocation matched without the legacy key")
	}
	if !y.tokenRevoked(key, legacy) {
		t.Error("legacy revocation not matched under the legacy key")
	}
	y.loadToken(revocationKey("b.c.d"), t0)
	y.gc(t0.Add(time.Minute))
	if len(y.tokens) != 1 || !y.tokenRevoked(key, legacy) {
		t.Errorf("gc: tokens = %v, want only the legacy row", y.tokens)
	}
}
