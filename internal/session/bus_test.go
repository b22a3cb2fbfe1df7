package session_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// recorder is a Publisher that remembers what it was told.
type recorder struct {
	mu        sync.Mutex
	msgs      []string
	withdrawn []string // signing keys
}

func (r *recorder) add(s string)                 { r.mu.Lock(); r.msgs = append(r.msgs, s); r.mu.Unlock() }
func (r *recorder) UserBanned(u gatehouse.User)  { r.add("banned " + u.UserID) }
func (r *recorder) UserDeleted(u gatehouse.User) { r.add("deleted " + u.UserID) }
func (r *recorder) SessionsRevoked(appID string, ids []string) {
	for _, id := range ids {
		r.add("revoked " + id)
	}
}
func (r *recorder) SigningKeysWithdrawn(kids []string) {
	r.mu.Lock()
	r.withdrawn = append(r.withdrawn, kids...)
	r.mu.Unlock()
}
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// node is one session service over a shared store, as one process of a
// cluster: nothing but the store (and its event log) joins two nodes.
type node struct {
	svc *session.Service
	pub *recorder
}

func newNode(t *testing.T, st store.Store, cfg session.Config) node {
	t.Helper()
	pub := &recorder{}
	cfg.Publisher = pub
	svc := session.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err := svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return node{svc, pub}
}

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// catchUp makes n apply the log now, as a wake-up or a poll would.
func catchUp(t *testing.T, n node) {
	t.Helper()
	if err := n.svc.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestEventLogBetweenNodes: what one node changes, another applies from
// the log alone — revocations, bans, deletions, app settings, keys,
// signing-key rotation, the admin token — and each node publishes to its
// own connections exactly once per event, the writer included.
func TestEventLogBetweenNodes(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	a := newNode(t, db, session.Config{SealKey: make([]byte, 32)})
	b := newNode(t, db, session.Config{SealKey: make([]byte, 32)})

	app, key, err := a.svc.CreateApp(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, b)
	// B learned the app and its key from the log: logins work there.
	login := func(n node, user, device string) session.LoginResult {
		t.Helper()
		r, err := n.svc.Login(ctx, key, &session.LoginInput{UserID: user, DeviceID: device})
		if err != nil {
			t.Fatalf("login %s on %s: %v", user, device, err)
		}
		return r
	}
	alice := login(b, "alice", "d1")
	alice2 := login(a, "alice", "d2")
	bob := login(a, "bob", "d3")
	for _, n := range []node{a, b} {
		for _, r := range []session.LoginResult{alice, alice2, bob} {
			if _, err := n.svc.Authenticate(ctx, r.AccessToken.Reveal()); err != nil {
				t.Fatalf("fresh token refused: %v", err)
			}
		}
	}

	// A logout through A: A refuses the token at once (read-your-writes),
	// B once it has applied the log; each closes the session's
	// connections once.
	if err := a.svc.Logout(ctx, alice.AccessToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Authenticate(ctx, alice.AccessToken.Reveal()); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("logged-out token on the node that logged out: %v", err)
	}
	catchUp(t, b)
	if _, err := b.svc.Authenticate(ctx, alice.AccessToken.Reveal()); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("logged-out token on another node: %v", err)
	}
	if _, err := b.svc.Authenticate(ctx, alice2.AccessToken.Reveal()); err != nil {
		t.Fatalf("alice's other device was logged out too: %v", err)
	}

	// A ban through B: refused on A, published on each node once.
	if _, err := b.svc.Ban(ctx, app.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	catchUp(t, a)
	if _, err := a.svc.Authenticate(ctx, alice2.AccessToken.Reveal()); gatehouse.ErrorCode(err) != gatehouse.Banned {
		t.Fatalf("banned user's token on another node: %v", err)
	}
	if _, err := a.svc.Login(ctx, key, &session.LoginInput{UserID: "alice", DeviceID: "d2"}); gatehouse.ErrorCode(err) != gatehouse.Banned {
		t.Fatalf("banned user's login on another node (fast path): %v", err)
	}
	// Unban through A; a fresh login through B works.
	if _, err := a.svc.Unban(ctx, app.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	catchUp(t, b)
	alice3 := login(b, "alice", "d4")

	// Delete bob through B; his token dies on A.
	if _, err := b.svc.Delete(ctx, app.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	// App settings through A apply on B: secure mode refuses logins
	// without an auth token.
	on := true
	if _, err := a.svc.UpdateApp(ctx, app.ID, session.AppUpdate{SecureMode: &on}); err != nil {
		t.Fatal(err)
	}
	catchUp(t, a)
	catchUp(t, b)
	if _, err := a.svc.Authenticate(ctx, bob.AccessToken.Reveal()); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("deleted user's token on another node: %v", err)
	}
	if _, err := b.svc.Login(ctx, key, &session.LoginInput{UserID: "carol", DeviceID: "d9"}); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("secure mode set on A, login without auth token on B: %v", err)
	}
	off := false
	if _, err := a.svc.UpdateApp(ctx, app.ID, session.AppUpdate{SecureMode: &off}); err != nil {
		t.Fatal(err)
	}
	catchUp(t, b)

	// The API key revoked through A stops working on B.
	keys, _ := a.svc.Keys(ctx, app.ID, gatehouse.APIKey)
	if _, err := a.svc.RevokeKey(ctx, app.ID, gatehouse.APIKey, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	catchUp(t, b)
	if _, err := b.svc.Login(ctx, key, &session.LoginInput{UserID: "alice", DeviceID: "d4"}); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("revoked API key on another node: %v", err)
	}

	// Emergency rotation through B: A refuses every earlier token.
	if _, err := a.svc.Authenticate(ctx, alice3.AccessToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.RotateSigningKey(ctx, true); err != nil {
		t.Fatal(err)
	}
	catchUp(t, a)
	if _, err := a.svc.Authenticate(ctx, alice3.AccessToken.Reveal()); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("token signed with a dropped key on another node: %v", err)
	}
	// …and closes its own live connections of the withdrawn keys.
	a.pub.mu.Lock()
	withdrawn := len(a.pub.withdrawn)
	a.pub.mu.Unlock()
	if withdrawn == 0 {
		t.Fatal("node A did not close the connections of the withdrawn keys")
	}

	// The admin token set through A is the one B checks.
	if err := a.svc.SetAdminToken(ctx, "7f3a9c1e5b2d8f4a6c0e1b3d5f7a9c2e"); err != nil {
		t.Fatal(err)
	}
	catchUp(t, b)
	if !b.svc.CheckAdmin("7f3a9c1e5b2d8f4a6c0e1b3d5f7a9c2e") {
		t.Fatal("admin token set on A not accepted on B")
	}

	want := []string{"revoked " + alice.Session.ID, "banned alice", "deleted bob"}
	for name, n := range map[string]node{"A": a, "B": b} {
		if got := n.pub.got(); !slices.Equal(got, want) {
			t.Fatalf("node %s published %q, want %q", name, got, want)
		}
	}
}

// flakyStore is a real store whose event log can be made unreadable, as
// when the node loses the database.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (f *flakyStore) Events(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Events(ctx, after, limit)
}

// TestFailClosed: a node that cannot read the event log for longer than the
// bound refuses validations and logins with Unavailable (never an answer
// from stale memory), and serves again by itself once it can read it.
func TestFailClosed(t *testing.T) {
	st := &flakyStore{Store: openDB(t)}
	const bound = 300 * time.Millisecond
	n := newNode(t, st, session.Config{FailClosedAfter: bound, PollEvery: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go n.svc.Run(ctx)
	_, key, err := n.svc.CreateApp(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.svc.Login(t.Context(), key, &session.LoginInput{UserID: "alice", DeviceID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	tok := r.AccessToken.Reveal()

	st.down.Store(true)
	downAt := time.Now()
	// Within the bound the known token still validates (from memory)...
	if _, err := n.svc.Authenticate(t.Context(), tok); err != nil {
		if time.Since(downAt) < bound {
			t.Fatalf("token refused within the bound: %v", err)
		}
	}
	// ...and once past it, it is refused as retryable, as are logins.
	deadline := time.Now().Add(10 * time.Second)
	for n.svc.Current() == nil {
		if time.Now().After(deadline) {
			t.Fatal("node still claims to be current with the log unreadable")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Fail-closed counts from the last read that succeeded (at most one
	// poll before the outage), so the refusal comes within the bound.
	if since := time.Since(downAt); since > bound+time.Second {
		t.Fatalf("still validating %v after the log became unreadable (bound %v)", since, bound)
	}
	if _, err := n.svc.Authenticate(t.Context(), tok); gatehouse.ErrorCode(err) != gatehouse.Unavailable {
		t.Fatalf("validation past the bound: %v, want unavailable", err)
	}
	if _, err := n.svc.Login(t.Context(), key, &session.LoginInput{UserID: "alice", DeviceID: "d1"}); gatehouse.ErrorCode(err) != gatehouse.Unavailable {
		t.Fatalf("login past the bound: %v, want unavailable", err)
	}

	st.down.Store(false)
	for n.svc.Current() != nil {
		if time.Now().After(deadline) {
			t.Fatal("node did not come back after the log became readable")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := n.svc.Authenticate(t.Context(), tok); err != nil {
		t.Fatalf("validation after recovery: %v", err)
	}
}
