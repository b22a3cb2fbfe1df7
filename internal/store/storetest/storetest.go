// Package storetest is the conformance suite every store.Store backend runs.
// Each case checks one sentence of the Store contract.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Run runs the suite. newStore returns an empty store; the suite closes it.
// The cases run in parallel, each on its own store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Apps", testApps},
		{"Keys", testKeys},
		{"LoginCreatesUserAndSession", testLoginCreates},
		{"LoginSameUserSameDeviceExtends", testLoginExtends},
		{"LoginOtherUserOnDeviceRevokes", testLoginReplaces},
		{"LoginCheckAbortsEverything", testLoginCheckAborts},
		{"ParallelLoginsOneDevice", testParallelLogins},
		{"ParallelFirstLogins", testParallelFirstLogins},
		{"UpdateUserRevokesSessions", testUpdateUser},
		{"RevokeSession", testRevokeSession},
		{"RevokedSessionsAndPurge", testRevokedAndPurge},
		{"TimezoneRoundTrip", testTimezone},
		{"SigningKeysAndSecrets", testKeysAndSecrets},
		{"VerificationKeys", testVerificationKeys},
		{"RotateSigningKey", testRotateSigningKey},
		{"RevokedTokens", testRevokedTokens},
		{"GetOrCreateUser", testGetOrCreateUser},
		{"ConcurrentUpdateAppKeepsEveryEdit", testConcurrentUpdateApp},
		{"CallbacksRunOnFreshReads", testCallbacksFresh},
		{"RacingLoginsOneDeviceSameUser", testRacingLoginsSameUser},
		{"EventsWritten", testEventsWritten},
		{"EventsOnlyOnCommit", testEventsOnlyOnCommit},
		{"EventsPrune", testEventsPrune},
		{"EventsConcurrentNoSkip", testEventsConcurrentNoSkip},
		{"Admins", testAdmins},
		{"AdminTokens", testAdminTokens},
		{"ConsoleSessions", testConsoleSessions},
		{"Audit", testAudit},
		{"SearchUsers", testSearchUsers},
		{"CountLiveSessions", testCountLiveSessions},
		{"AppOrigins", testAppOrigins},
		{"AppVisitorSettings", testAppVisitorSettings},
		{"UserTypes", testUserTypes},
		{"VisitorSecrets", testVisitorSecrets},
		{"PurgeVisitors", testPurgeVisitors},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			c.fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func mustApp(t *testing.T, s store.Store, id string) gatehouse.App {
	t.Helper()
	a := gatehouse.App{ID: id, Name: "app " + id, AccessTTL: gatehouse.DefaultAccessTTL, AuthTokenTTL: gatehouse.DefaultAuthTokenTTL, Visitors: gatehouse.VisitorsOff, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateApp(context.Background(), a); err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	return a
}

func testApps(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustApp(t, s, "app1")
	if err := s.CreateApp(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateApp twice: got %v, want ErrConflict", err)
	}
	if _, err := s.GetApp(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetApp unknown: got %v, want ErrNotFound", err)
	}
	a.SecureMode, a.AccessTTL, a.UpdatedAt = true, 2*time.Hour, t0.Add(time.Minute)
	updated, err := s.UpdateApp(ctx, "app1", func(x *gatehouse.App) error {
		x.SecureMode, x.AccessTTL, x.UpdatedAt = true, 2*time.Hour, t0.Add(time.Minute)
		return nil
	})
	if err != nil || updated != a {
		t.Fatalf("UpdateApp = %+v, %v; want %+v", updated, err, a)
	}
	got, err := s.GetApp(ctx, "app1")
	if err != nil || got != a {
		t.Fatalf("GetApp = %+v, %v; want %+v", got, err, a)
	}
	boom := errors.New("invalid")
	if _, err := s.UpdateApp(ctx, "app1", func(x *gatehouse.App) error { x.Name = "changed"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateApp with a failing update = %v, want its error", err)
	}
	if got, _ := s.GetApp(ctx, "app1"); got != a {
		t.Fatalf("a failed UpdateApp wrote: %+v", got)
	}
	if _, err := s.UpdateApp(ctx, "nope", func(*gatehouse.App) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateApp unknown: got %v, want ErrNotFound", err)
	}
	b := gatehouse.App{ID: "app0", Name: "later", AccessTTL: time.Hour, AuthTokenTTL: time.Minute, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}
	if err := s.CreateApp(ctx, b); err != nil {
		t.Fatal(err)
	}
	apps, err := s.ListApps(ctx)
	if err != nil || len(apps) != 2 || apps[0].ID != "app1" || apps[1].ID != "app0" {
		t.Fatalf("ListApps = %+v, %v; want app1 then app0 (oldest first)", apps, err)
	}
}

func testKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	k1 := gatehouse.Key{ID: "k1", AppID: "app1", Kind: gatehouse.APIKey, Name: "web", Hash: []byte{1, 2, 3}, CreatedAt: t0}
	k2 := gatehouse.Key{ID: "k2", AppID: "app1", Kind: gatehouse.APIKey, Name: "ios", Hash: []byte{4}, CreatedAt: t0.Add(time.Second)}
	sk := gatehouse.Key{ID: "s1", AppID: "app1", Kind: gatehouse.ServerKey, Hash: []byte{5}, CreatedAt: t0}
	for _, k := range []gatehouse.Key{k1, k2, sk} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateKey(ctx, k1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateKey twice: %v, want ErrConflict", err)
	}
	if err := s.CreateKey(ctx, gatehouse.Key{ID: "x", AppID: "nope", Kind: gatehouse.APIKey, Hash: []byte{1}, CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateKey for unknown app: %v, want ErrNotFound", err)
	}
	keys, err := s.ListKeys(ctx, "app1", gatehouse.APIKey)
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" || string(keys[0].Hash) != string(k1.Hash) {
		t.Fatalf("ListKeys = %+v, %v", keys, err)
	}
	r, err := s.RevokeKey(ctx, "app1", gatehouse.APIKey, "k1", t0.Add(time.Hour))
	if err != nil || !r.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("RevokeKey = %+v, %v", r, err)
	}
	r, err = s.RevokeKey(ctx, "app1", gatehouse.APIKey, "k1", t0.Add(2*time.Hour))
	if err != nil || !r.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("second RevokeKey changed the revocation time: %+v, %v", r, err)
	}
	if _, err := s.RevokeKey(ctx, "app1", gatehouse.APIKey, "s1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeKey of the wrong kind: %v, want ErrNotFound", err)
	}
	active, err := s.AllActiveKeys(ctx)
	if err != nil || len(active) != 2 {
		t.Fatalf("AllActiveKeys = %+v, %v; want k2 and s1", active, err)
	}
}

func login(s store.Store, app, user, device, sid string, now time.Time, ttl time.Duration) (store.LoginResult, error) {
	return s.Login(context.Background(), store.LoginRecord{
		AppID: app, UserID: user, DeviceID: device, Now: now,
		NewUser: gatehouse.User{ID: "u-" + user, AppID: app, UserID: user, DisplayName: user, CreatedAt: now, UpdatedAt: now},
		Session: gatehouse.Session{ID: sid, CreatedAt: now, LastLoginAt: now, ExpiresAt: now.Add(ttl), DeviceInfo: gatehouse.DeviceInfo{Kind: "web"}},
	}, func(*gatehouse.User, bool) error { return nil })
}

func testLoginCreates(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	r, err := login(s, "app1", "alice", "d1", "s1", t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Created || r.User.ID != "u-alice" || r.Session.ID != "s1" || r.Session.UserInternalID != "u-alice" || r.Replaced != nil {
		t.Fatalf("first login = %+v", r)
	}
	u, err := s.GetUser(t.Context(), "app1", "alice")
	if err != nil || u.DisplayName != "alice" {
		t.Fatalf("GetUser = %+v, %v", u, err)
	}
	if _, err := s.GetUser(t.Context(), "app1", "ALICE"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user ids must compare byte for byte: %v", err)
	}
	if _, err := login(s, "nope", "zed", "d9", "s2", t0, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("login to unknown app: %v, want ErrNotFound", err)
	}
	name := "Alice A."
	r, err = s.Login(t.Context(), store.LoginRecord{AppID: "app1", UserID: "alice", DeviceID: "d1", DisplayName: &name, Now: t0.Add(time.Minute),
		Session: gatehouse.Session{ID: "s3", ExpiresAt: t0.Add(2 * time.Hour)}}, func(*gatehouse.User, bool) error { return nil })
	if err != nil || r.Created || r.User.DisplayName != name || !r.User.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("login with displayName = %+v, %v", r, err)
	}
}

func testLoginExtends(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	if _, err := login(s, "app1", "alice", "d1", "s1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	r, err := login(s, "app1", "alice", "d1", "s2", t0.Add(time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.Session.ID != "s1" || !r.Session.ExpiresAt.Equal(t0.Add(time.Minute+time.Hour)) || r.Replaced != nil {
		t.Fatalf("second login on the same device = %+v; want session s1 extended", r)
	}
	// A shorter token (the app's TTL was lowered) never shortens the session.
	r, err = login(s, "app1", "alice", "d1", "s3", t0.Add(2*time.Minute), time.Minute)
	if err != nil || !r.Session.ExpiresAt.Equal(t0.Add(time.Minute+time.Hour)) {
		t.Fatalf("shorter login shortened the session: %+v, %v", r, err)
	}
	r, err = login(s, "app1", "alice", "d2", "s4", t0, time.Hour)
	if err != nil || r.Session.ID != "s4" {
		t.Fatalf("second device = %+v, %v; want its own session", r, err)
	}
	list, err := s.ListSessions(t.Context(), "app1", "u-alice", t0)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %+v, %v", list, err)
	}
}

func testLoginReplaces(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	if _, err := login(s, "app1", "alice", "d1", "s1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	r, err := login(s, "app1", "bob", "d1", "s2", t0.Add(time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.Session.ID != "s2" || r.Replaced == nil || r.Replaced.ID != "s1" || !r.Replaced.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("other user on the device = %+v", r)
	}
	got, err := s.GetSession(t.Context(), "app1", "s1")
	if err != nil || got.RevokedAt.IsZero() {
		t.Fatalf("replaced session not revoked: %+v, %v", got, err)
	}
	// Alice comes back: a new session, not the revoked one.
	r, err = login(s, "app1", "alice", "d1", "s3", t0.Add(2*time.Minute), time.Hour)
	if err != nil || r.Session.ID != "s3" || r.Replaced == nil || r.Replaced.ID != "s2" {
		t.Fatalf("alice back = %+v, %v", r, err)
	}
}

func testLoginCheckAborts(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	boom := errors.New("refused")
	_, err := s.Login(t.Context(), store.LoginRecord{AppID: "app1", UserID: "alice", DeviceID: "d1", Now: t0,
		NewUser: gatehouse.User{ID: "u1", AppID: "app1", UserID: "alice", CreatedAt: t0, UpdatedAt: t0},
		Session: gatehouse.Session{ID: "s1", ExpiresAt: t0.Add(time.Hour)}},
		func(u *gatehouse.User, existed bool) error {
			if existed {
				t.Errorf("check saw existed=true for a new user")
			}
			return boom
		})
	if !errors.Is(err, boom) {
		t.Fatalf("Login = %v, want the check's error", err)
	}
	if _, err := s.GetUser(t.Context(), "app1", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused login created the user: %v", err)
	}
	if _, err := s.GetSession(t.Context(), "app1", "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused login created the session: %v", err)
	}
}

// testParallelLogins: many users log in on one device at once; exactly one
// session on that device stays unrevoked.
func testParallelLogins(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	const n = 32
	errs := make(chan error, n)
	parallel(n, func(i int) {
		_, err := login(s, "app1", fmt.Sprintf("user%d", i), "shared-device", fmt.Sprintf("s%d", i), t0, time.Hour)
		errs <- err
	})
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	live := 0
	for i := range n {
		sess, err := s.GetSession(t.Context(), "app1", fmt.Sprintf("s%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if sess.RevokedAt.IsZero() {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d live sessions on one device, want exactly 1", live)
	}
}

// testParallelFirstLogins: the same new user logs in from many devices at
// once; one user row results and every login succeeds.
func testParallelFirstLogins(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	const n = 16
	ids := make(chan string, n)
	parallel(n, func(i int) {
		r, err := s.Login(context.Background(), store.LoginRecord{AppID: "app1", UserID: "alice", DeviceID: fmt.Sprint("d", i), Now: t0,
			NewUser: gatehouse.User{ID: fmt.Sprint("u", i), AppID: "app1", UserID: "alice", CreatedAt: t0, UpdatedAt: t0},
			Session: gatehouse.Session{ID: fmt.Sprint("s", i), ExpiresAt: t0.Add(time.Hour)}}, func(*gatehouse.User, bool) error { return nil })
		if err != nil {
			t.Error(err)
			return
		}
		ids <- r.User.ID
	})
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Fatalf("parallel first logins made %d users, want 1", len(seen))
	}
}

func testUpdateUser(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	login(s, "app1", "alice", "d1", "s1", t0, time.Hour)
	login(s, "app1", "alice", "d2", "s2", t0, time.Hour)
	login(s, "app1", "bob", "d3", "s3", t0, time.Hour)
	boom := errors.New("no")
	if _, _, err := s.UpdateUser(t.Context(), "app1", "alice", func(*gatehouse.User) error { return boom }, true); !errors.Is(err, boom) {
		t.Fatalf("UpdateUser = %v, want the update's error", err)
	}
	if list, _ := s.ListRevokedSessions(t.Context(), t0); len(list) != 0 {
		t.Fatalf("a failed update revoked sessions: %+v", list)
	}
	at := t0.Add(time.Minute)
	u, revoked, err := s.UpdateUser(t.Context(), "app1", "alice", func(u *gatehouse.User) error {
		u.Banned, u.UpdatedAt = true, at
		return nil
	}, true)
	if err != nil || !u.Banned || len(revoked) != 2 {
		t.Fatalf("ban = %+v, %+v, %v; want 2 sessions revoked", u, revoked, err)
	}
	for _, r := range revoked {
		if !r.RevokedAt.Equal(at) || r.UserInternalID != u.ID {
			t.Fatalf("revoked session %+v", r)
		}
	}
	restricted, err := s.ListRestrictedUsers(t.Context())
	if err != nil || len(restricted) != 1 || restricted[0].UserID != "alice" {
		t.Fatalf("ListRestrictedUsers = %+v, %v", restricted, err)
	}
	if bob, _ := s.GetSession(t.Context(), "app1", "s3"); !bob.RevokedAt.IsZero() {
		t.Fatalf("banning alice revoked bob's session")
	}
	if _, _, err := s.UpdateUser(t.Context(), "app1", "nobody", func(*gatehouse.User) error { return nil }, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUser unknown = %v, want ErrNotFound", err)
	}
}

func testRevokeSession(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	login(s, "app1", "alice", "d1", "s1", t0, time.Hour)
	r, err := s.RevokeSession(t.Context(), "app1", "s1", t0.Add(time.Minute))
	if err != nil || !r.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("RevokeSession = %+v, %v", r, err)
	}
	r, err = s.RevokeSession(t.Context(), "app1", "s1", t0.Add(time.Hour))
	if err != nil || !r.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second RevokeSession = %+v, %v; want first time kept", r, err)
	}
	if _, err := s.RevokeSession(t.Context(), "app2", "s1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeSession in another app = %v, want ErrNotFound", err)
	}
	// The device is free again: a new login makes a new session.
	lr, err := login(s, "app1", "alice", "d1", "s2", t0.Add(2*time.Minute), time.Hour)
	if err != nil || lr.Session.ID != "s2" {
		t.Fatalf("login after revoke = %+v, %v", lr, err)
	}
	all, err := s.RevokeUserSessions(t.Context(), "app1", "u-alice", t0.Add(3*time.Minute))
	if err != nil || len(all) != 1 || all[0].ID != "s2" {
		t.Fatalf("RevokeUserSessions = %+v, %v", all, err)
	}
}

func testRevokedAndPurge(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	login(s, "app1", "a", "d1", "s1", t0, time.Hour)
	login(s, "app1", "b", "d2", "s2", t0, 3*time.Hour)
	login(s, "app1", "c", "d3", "s3", t0, 3*time.Hour)
	s.RevokeSession(t.Context(), "app1", "s1", t0)
	s.RevokeSession(t.Context(), "app1", "s2", t0)
	list, err := s.ListRevokedSessions(t.Context(), t0.Add(2*time.Hour))
	if err != nil || len(list) != 1 || list[0].ID != "s2" {
		t.Fatalf("ListRevokedSessions = %+v, %v; want only s2 (s1's tokens have expired)", list, err)
	}
	n, err := s.PurgeSessions(t.Context(), t0.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PurgeSessions = %d, %v; want 1", n, err)
	}
	if _, err := s.GetSession(t.Context(), "app1", "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged session still there: %v", err)
	}
}

func testTimezone(t *testing.T, s store.Store) {
	loc := time.FixedZone("UTC+9", 9*3600)
	a := gatehouse.App{ID: "tz", Name: "tz", AccessTTL: time.Hour, AuthTokenTTL: time.Minute, CreatedAt: t0.In(loc).Add(123 * time.Millisecond), UpdatedAt: t0.In(loc)}
	if err := s.CreateApp(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetApp(t.Context(), "tz")
	if err != nil || !got.CreatedAt.Equal(a.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v (%v), want %v in UTC", got.CreatedAt, err, a.CreatedAt)
	}
}

func testKeysAndSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	k, err := token.NewSigningKey(t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddSigningKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSigningKey(ctx, k); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AddSigningKey twice = %v, want ErrConflict", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || string(keys[0].Seed) != string(k.Seed) || !keys[0].CreatedAt.Equal(t0) {
		t.Fatalf("SigningKeys = %+v, %v", keys, err)
	}
	if _, err := s.Secret(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Secret unknown = %v", err)
	}
	v, err := s.PutSecretIfAbsent(ctx, "x", []byte("one"))
	if err != nil || string(v) != "one" {
		t.Fatalf("PutSecretIfAbsent = %q, %v", v, err)
	}
	v, err = s.PutSecretIfAbsent(ctx, "x", []byte("two"))
	if err != nil || string(v) != "one" {
		t.Fatalf("PutSecretIfAbsent over an existing one = %q, %v; want the first kept", v, err)
	}
	if err := s.SetSecret(ctx, "x", []byte("three")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Secret(ctx, "x"); string(v) != "three" {
		t.Fatalf("SetSecret did not replace: %q", v)
	}
}

func testVerificationKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	k := gatehouse.VerificationKey{ID: "v1", AppID: "app1", Alg: "HS256", Kind: gatehouse.KeyHMAC, Material: []byte{9, 9}, CreatedAt: t0}
	j := gatehouse.VerificationKey{ID: "v2", AppID: "app1", Alg: "RS256", Kind: gatehouse.KeyJWKS, Material: []byte{}, JWKSURL: "https://idp.example/jwks", CreatedAt: t0.Add(time.Second)}
	for _, x := range []gatehouse.VerificationKey{k, j} {
		if err := s.CreateVerificationKey(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateVerificationKey(ctx, k); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("twice: %v", err)
	}
	if err := s.CreateVerificationKey(ctx, gatehouse.VerificationKey{ID: "v3", AppID: "nope", Alg: "HS256", Kind: gatehouse.KeyHMAC, Material: []byte{1}, CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	list, err := s.ListVerificationKeys(ctx, "app1")
	if err != nil || len(list) != 2 || list[0].ID != "v1" || string(list[0].Material) != string(k.Material) || list[1].JWKSURL != j.JWKSURL {
		t.Fatalf("ListVerificationKeys = %+v, %v", list, err)
	}
	if err := s.DeleteVerificationKey(ctx, "app1", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVerificationKey(ctx, "app1", "v1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	all, err := s.AllVerificationKeys(ctx)
	if err != nil || len(all) != 1 || all[0].ID != "v2" {
		t.Fatalf("AllVerificationKeys = %+v, %v", all, err)
	}
}

func testRevokedTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := store.RevokedToken{AppID: "app1", Hash: "h1", ExpiresAt: t0.Add(time.Hour)}
	if err := s.RevokeToken(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, r); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	s.RevokeToken(ctx, store.RevokedToken{AppID: "app1", Hash: "h2", ExpiresAt: t0.Add(time.Minute)})
	list, err := s.ListRevokedTokens(ctx, t0.Add(30*time.Minute))
	if err != nil || len(list) != 1 || list[0].Hash != "h1" || !list[0].ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("ListRevokedTokens = %+v, %v", list, err)
	}
}

func testGetOrCreateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	u := gatehouse.User{ID: "u1", AppID: "app1", UserID: "alice", DisplayName: "alice", CreatedAt: t0, UpdatedAt: t0}
	got, err := s.GetOrCreateUser(ctx, u)
	if err != nil || got.ID != "u1" {
		t.Fatalf("create = %+v, %v", got, err)
	}
	u.ID = "u2"
	got, err = s.GetOrCreateUser(ctx, u)
	if err != nil || got.ID != "u1" {
		t.Fatalf("second call must return the existing user: %+v, %v", got, err)
	}
	at := t0.Add(time.Hour)
	got, _, err = s.UpdateUser(ctx, "app1", "alice", func(u *gatehouse.User) error { u.TokensValidAfter = at; return nil }, false)
	if err != nil || !got.TokensValidAfter.Equal(at) {
		t.Fatalf("TokensValidAfter = %v, %v", got.TokensValidAfter, err)
	}
	restricted, _ := s.ListRestrictedUsers(ctx)
	if len(restricted) != 1 || !restricted[0].TokensValidAfter.Equal(at) {
		t.Fatalf("users with a token watermark must be listed for validation: %+v", restricted)
	}
	if _, err := s.GetOrCreateUser(ctx, gatehouse.User{ID: "u3", AppID: "nope", UserID: "x", CreatedAt: t0, UpdatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
}

func testRotateSigningKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	k1, _ := token.NewSigningKey(t0)
	s.AddSigningKey(ctx, k1)
	k2, _ := token.NewSigningKey(t0.Add(time.Hour))
	if err := s.RotateSigningKey(ctx, k2, false); err != nil {
		t.Fatal(err)
	}
	keys, _ := s.SigningKeys(ctx)
	if len(keys) != 2 || !keys[0].RetiredAt.Equal(t0.Add(time.Hour)) || !keys[1].RetiredAt.IsZero() || keys[1].ID != k2.ID {
		t.Fatalf("after graceful rotation: %+v", keys)
	}
	k3, _ := token.NewSigningKey(t0.Add(2 * time.Hour))
	if err := s.RotateSigningKey(ctx, k3, true); err != nil {
		t.Fatal(err)
	}
	keys, _ = s.SigningKeys(ctx)
	if len(keys) != 1 || keys[0].ID != k3.ID {
		t.Fatalf("after emergency rotation: %+v", keys)
	}
}

// testConcurrentUpdateApp: admins editing one app at once never lose an
// edit: each update reads what the previous one committed.
func testConcurrentUpdateApp(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	const n = 16
	parallel(n, func(i int) {
		_, err := s.UpdateApp(context.Background(), "app1", func(a *gatehouse.App) error {
			// Half the editors change one setting, half another; each
			// leaves a mark in its own setting.
			if i%2 == 0 {
				a.Name += fmt.Sprintf("[%d]", i)
			} else {
				a.TokenAudience += fmt.Sprintf("[%d]", i)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	a, err := s.GetApp(t.Context(), "app1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		field := a.Name
		if i%2 == 1 {
			field = a.TokenAudience
		}
		if !strings.Contains(field, fmt.Sprintf("[%d]", i)) {
			t.Fatalf("edit %d lost: name %q, audience %q", i, a.Name, a.TokenAudience)
		}
	}
}

// testCallbacksFresh checks the callback contract of store.go from the
// backend's side: a callback may run more than once, so every run gets a
// fresh read of the committed row (never what an earlier run changed), and
// only a committed run's changes are stored.
func testCallbacksFresh(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	if _, err := login(s, "app1", "alice", "d1", "s1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var (
		mu    sync.Mutex
		calls int
	)
	parallel(n, func(i int) {
		mark := fmt.Sprintf("[%d]", i)
		_, _, err := s.UpdateUser(context.Background(), "app1", "alice", func(u *gatehouse.User) error {
			mu.Lock()
			calls++
			mu.Unlock()
			if strings.Contains(u.DisplayName, mark) {
				t.Errorf("update %d saw its own earlier run: %q", i, u.DisplayName)
			}
			u.DisplayName += mark
			return nil
		}, false)
		if err != nil {
			t.Error(err)
		}
	})
	u, err := s.GetUser(t.Context(), "app1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if strings.Count(u.DisplayName, fmt.Sprintf("[%d]", i)) != 1 {
			t.Fatalf("update %d lost or applied twice: %q", i, u.DisplayName)
		}
	}
	if calls < n {
		t.Fatalf("callbacks ran %d times for %d updates", calls, n)
	}

	// A check that changes the user and then refuses leaves nothing behind,
	// and the next call starts from the stored user.
	before := u
	boom := errors.New("refused")
	_, err = s.Login(t.Context(), store.LoginRecord{AppID: "app1", UserID: "alice", DeviceID: "d2", Now: t0.Add(time.Minute),
		Session: gatehouse.Session{ID: "s2", ExpiresAt: t0.Add(time.Hour)}},
		func(u *gatehouse.User, existed bool) error { u.DisplayName, u.Banned = "changed", true; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Login = %v, want the check's error", err)
	}
	r, err := s.Login(t.Context(), store.LoginRecord{AppID: "app1", UserID: "alice", DeviceID: "d2", Now: t0.Add(time.Minute),
		Session: gatehouse.Session{ID: "s3", ExpiresAt: t0.Add(time.Hour)}},
		func(u *gatehouse.User, existed bool) error {
			if !existed || u.DisplayName != before.DisplayName || u.Banned {
				return fmt.Errorf("check saw %+v (existed %v), want the stored user", *u, existed)
			}
			return nil
		})
	if err != nil || r.Session.ID != "s3" {
		t.Fatalf("Login after a refused one = %+v, %v", r, err)
	}
	if _, err := s.GetSession(t.Context(), "app1", "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused login stored its session: %v", err)
	}
}

// testRacingLoginsSameUser: one user's logins racing on one device leave one
// live session, which every login extended or created.
func testRacingLoginsSameUser(t *testing.T, s store.Store) {
	mustApp(t, s, "app1")
	const n = 16
	got := make(chan string, n)
	parallel(n, func(i int) {
		r, err := login(s, "app1", "alice", "d1", fmt.Sprintf("s%d", i), t0.Add(time.Duration(i)*time.Second), time.Hour)
		if err != nil {
			t.Error(err)
			return
		}
		if r.Replaced != nil {
			t.Errorf("login %d replaced %s: a user never replaces their own session", i, r.Replaced.ID)
		}
		got <- r.Session.ID
	})
	close(got)
	ids := map[string]bool{}
	for id := range got {
		ids[id] = true
	}
	if len(ids) != 1 {
		t.Fatalf("racing logins of one user on one device got sessions %v, want one", ids)
	}
	list, err := s.ListSessions(t.Context(), "app1", "u-alice", t0)
	if err != nil || len(list) != 1 || !list[0].ExpiresAt.Equal(t0.Add(time.Duration(n-1)*time.Second+time.Hour)) {
		t.Fatalf("sessions = %+v, %v; want one, extended to the latest login's expiry", list, err)
	}
}

// parallel runs fn(0) … fn(n-1) at once and waits for them all.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}

// testAppVisitorSettings: the visitor mode and the bot switch round-trip;
// an app stored without a mode reads back as off.
func testAppVisitorSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustApp(t, s, "app1")
	a.Visitors, a.Bots = gatehouse.VisitorsSecure, true
	if _, err := s.UpdateApp(ctx, "app1", func(x *gatehouse.App) error { *x = a; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetApp(ctx, "app1"); err != nil || got != a {
		t.Fatalf("GetApp = %+v, %v; want %+v", got, err, a)
	}
	b := gatehouse.App{ID: "app2", Name: "b", AccessTTL: time.Hour, AuthTokenTTL: time.Minute, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateApp(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetApp(ctx, "app2"); err != nil || got.Visitors != gatehouse.VisitorsOff || got.Bots {
		t.Fatalf("default visitor settings = %q, %v, %v; want off, false", got.Visitors, got.Bots, err)
	}
}

// testUserTypes: a user's type is stored at creation and read back
// everywhere; a user stored without one is signed-in.
func testUserTypes(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	r, err := s.Login(ctx, store.LoginRecord{AppID: "app1", UserID: "visitor-1", DeviceID: "d1", Now: t0,
		NewUser: gatehouse.User{ID: "uv", AppID: "app1", UserID: "visitor-1", Type: gatehouse.Visitor, CreatedAt: t0, UpdatedAt: t0},
		Session: gatehouse.Session{ID: "s1", ExpiresAt: t0.Add(time.Hour)}},
		func(u *gatehouse.User, existed bool) error { return nil })
	if err != nil || r.User.Type != gatehouse.Visitor {
		t.Fatalf("Login = %+v, %v", r.User, err)
	}
	if u, err := s.GetUser(ctx, "app1", "visitor-1"); err != nil || u.Type != gatehouse.Visitor {
		t.Fatalf("GetUser = %+v, %v", u, err)
	}
	var seen gatehouse.UserType
	if _, err := s.Login(ctx, store.LoginRecord{AppID: "app1", UserID: "visitor-1", DeviceID: "d1", Now: t0,
		Session: gatehouse.Session{ID: "s2", ExpiresAt: t0.Add(time.Hour)}},
		func(u *gatehouse.User, existed bool) error { seen = u.Type; return nil }); err != nil || seen != gatehouse.Visitor {
		t.Fatalf("check saw type %q (%v), want visitor", seen, err)
	}
	if _, err := login(s, "app1", "alice", "d2", "s3", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx, "app1", "alice"); err != nil || u.Type != gatehouse.SignedIn {
		t.Fatalf("untyped user reads back as %q, %v; want signed-in", u.Type, err)
	}
	if u, err := s.GetOrCreateUser(ctx, gatehouse.User{ID: "ub", AppID: "app1", UserID: "bot-1", Type: gatehouse.Bot, CreatedAt: t0, UpdatedAt: t0}); err != nil || u.Type != gatehouse.Bot {
		t.Fatalf("GetOrCreateUser = %+v, %v", u, err)
	}
	for typ, want := range map[gatehouse.UserType]int{gatehouse.Visitor: 1, gatehouse.Bot: 1, gatehouse.SignedIn: 1} {
		if n, err := s.CountUsers(ctx, typ); err != nil || n != want {
			t.Fatalf("CountUsers(%s) = %d, %v; want %d", typ, n, err, want)
		}
	}
	if _, _, err := s.UpdateUser(ctx, "app1", "visitor-1", func(u *gatehouse.User) error { u.Deleted = true; return nil }, true); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountUsers(ctx, gatehouse.Visitor); err != nil || n != 0 {
		t.Fatalf("CountUsers counts deleted users: %d, %v", n, err)
	}
}

// testVisitorSecrets: adding a secret keeps only the newest `keep`, and
// returns the ones it dropped; list, delete and the error contract.
func testVisitorSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	mustApp(t, s, "app2")
	add := func(id, app string, at time.Time) []gatehouse.VisitorSecret {
		t.Helper()
		dropped, err := s.AddVisitorSecret(ctx, gatehouse.VisitorSecret{ID: id, AppID: app, Sealed: []byte("sealed-" + id), CreatedAt: at}, 2)
		if err != nil {
			t.Fatalf("AddVisitorSecret(%s): %v", id, err)
		}
		return dropped
	}
	if d := add("a", "app1", t0); len(d) != 0 {
		t.Fatalf("first secret dropped %+v", d)
	}
	add("x", "app2", t0)
	if d := add("b", "app1", t0.Add(time.Second)); len(d) != 0 {
		t.Fatalf("second secret dropped %+v", d)
	}
	if d := add("c", "app1", t0.Add(2*time.Second)); len(d) != 1 || d[0].ID != "a" {
		t.Fatalf("third secret dropped %+v; want the oldest, a", d)
	}
	list, err := s.ListVisitorSecrets(ctx, "app1")
	if err != nil || len(list) != 2 || list[0].ID != "b" || list[1].ID != "c" || string(list[1].Sealed) != "sealed-c" || !list[1].CreatedAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("ListVisitorSecrets = %+v, %v; want b, c", list, err)
	}
	if _, err := s.AddVisitorSecret(ctx, gatehouse.VisitorSecret{ID: "c", AppID: "app1", Sealed: []byte{1}, CreatedAt: t0}, 2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same id twice: %v, want ErrConflict", err)
	}
	if _, err := s.AddVisitorSecret(ctx, gatehouse.VisitorSecret{ID: "z", AppID: "nope", Sealed: []byte{1}, CreatedAt: t0}, 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown app: %v, want ErrNotFound", err)
	}
	if err := s.DeleteVisitorSecret(ctx, "app2", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete through another app: %v, want ErrNotFound", err)
	}
	if err := s.DeleteVisitorSecret(ctx, "app1", "b"); err != nil {
		t.Fatal(err)
	}
	all, err := s.AllVisitorSecrets(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("AllVisitorSecrets = %+v, %v; want c and x", all, err)
	}
	// Every committed change wrote one event naming its app; the refused
	// ones none.
	var apps []string
	for _, e := range eventsAfter(t, s, 0) {
		if e.Kind == store.EventVisitorSecrets {
			apps = append(apps, e.AppID)
		}
	}
	if want := []string{"app1", "app2", "app1", "app1", "app1"}; !slices.Equal(apps, want) {
		t.Fatalf("visitor-secret events for apps %v, want %v", apps, want)
	}
}

// testPurgeVisitors: only unrestricted users of the given types, created
// before the cutoff and with no session expiring at or after it, go, with
// their sessions.
func testPurgeVisitors(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	mk := func(id string, typ gatehouse.UserType, device string, exp time.Time) {
		t.Helper()
		_, err := s.Login(ctx, store.LoginRecord{AppID: "app1", UserID: id, DeviceID: device, Now: t0,
			NewUser: gatehouse.User{ID: "u-" + id, AppID: "app1", UserID: id, Type: typ, CreatedAt: t0, UpdatedAt: t0},
			Session: gatehouse.Session{ID: "s-" + id, CreatedAt: t0, LastLoginAt: t0, ExpiresAt: exp}},
			func(*gatehouse.User, bool) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	cut := t0.Add(10 * time.Hour)
	mk("old-visitor", gatehouse.Visitor, "d1", t0.Add(time.Hour))
	mk("old-bot", gatehouse.Bot, "d2", t0.Add(time.Hour))
	mk("live-visitor", gatehouse.Visitor, "d3", cut) // a session expiring at the cutoff keeps it
	mk("banned-visitor", gatehouse.Visitor, "d4", t0.Add(time.Hour))
	mk("signed-in", gatehouse.SignedIn, "d5", t0.Add(time.Hour))
	if _, _, err := s.UpdateUser(ctx, "app1", "banned-visitor", func(u *gatehouse.User) error { u.Banned = true; return nil }, true); err != nil {
		t.Fatal(err)
	}
	got, err := s.PurgeVisitors(ctx, []gatehouse.UserType{gatehouse.Visitor}, cut)
	if err != nil || len(got) != 1 || got[0].UserID != "old-visitor" {
		t.Fatalf("PurgeVisitors(visitor) = %+v, %v; want old-visitor", got, err)
	}
	if _, err := s.GetUser(ctx, "app1", "old-visitor"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged user still there: %v", err)
	}
	if _, err := s.GetSession(ctx, "app1", "s-old-visitor"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged user's session still there: %v", err)
	}
	got, err = s.PurgeVisitors(ctx, []gatehouse.UserType{gatehouse.Visitor, gatehouse.Bot}, cut)
	if err != nil || len(got) != 1 || got[0].UserID != "old-bot" {
		t.Fatalf("PurgeVisitors(visitor, bot) = %+v, %v; want old-bot", got, err)
	}
	for _, id := range []string{"live-visitor", "banned-visitor", "signed-in"} {
		if _, err := s.GetUser(ctx, "app1", id); err != nil {
			t.Fatalf("%s was purged: %v", id, err)
		}
	}
	// Created after the cutoff: kept even without a session.
	if _, err := s.GetOrCreateUser(ctx, gatehouse.User{ID: "u-new", AppID: "app1", UserID: "new-visitor", Type: gatehouse.Visitor, CreatedAt: cut, UpdatedAt: cut}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PurgeVisitors(ctx, []gatehouse.UserType{gatehouse.Visitor}, cut); err != nil || len(got) != 0 {
		t.Fatalf("PurgeVisitors purged %+v, %v; want nothing", got, err)
	}
}
