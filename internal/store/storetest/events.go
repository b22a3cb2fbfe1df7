package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// eventsAfter reads every event after id, in pages.
func eventsAfter(t *testing.T, s store.Store, after int64) []store.Event {
	t.Helper()
	var out []store.Event
	for {
		page, err := s.Events(t.Context(), after, 3)
		if err != nil {
			t.Fatalf("Events(%d): %v", after, err)
		}
		if len(page) == 0 {
			return out
		}
		for _, e := range page {
			if e.ID <= after {
				t.Fatalf("Events(%d) returned id %d out of order", after, e.ID)
			}
			after = e.ID
		}
		out = append(out, page...)
	}
}

func kinds(list []store.Event) []store.EventKind {
	out := make([]store.EventKind, len(list))
	for i, e := range list {
		out[i] = e.Kind
	}
	return out
}

// testEventsWritten: each change that matters to validation writes its
// event, in order, carrying what it changed; changes that do not matter
// (a login that replaces nothing) write none.
func testEventsWritten(t *testing.T, s store.Store) {
	ctx := t.Context()
	if id, err := s.LastEventID(ctx); err != nil || id != 0 {
		t.Fatalf("LastEventID on an empty store = %d, %v", id, err)
	}
	if list, err := s.Events(ctx, 0, 10); err != nil || len(list) != 0 {
		t.Fatalf("Events on an empty store = %+v, %v", list, err)
	}
	mustApp(t, s, "app1")
	k := gatehouse.Key{ID: "k1", AppID: "app1", Kind: gatehouse.APIKey, Name: "n", Hash: []byte{1, 2}, CreatedAt: t0}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := login(s, "app1", "alice", "d1", "s1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := login(s, "app1", "bob", "d1", "s2", t0, time.Hour); err != nil { // revokes s1
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	if _, _, err := s.UpdateUser(ctx, "app1", "bob", func(u *gatehouse.User) error {
		u.Banned, u.UpdatedAt = true, at
		return nil
	}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := login(s, "app1", "carol", "d3", "s3", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeSession(ctx, "app1", "s3", at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey(ctx, "app1", gatehouse.APIKey, "k1", at); err != nil {
		t.Fatal(err)
	}
	vk := gatehouse.VerificationKey{ID: "v1", AppID: "app1", Alg: "HS256", Kind: gatehouse.KeyHMAC, Material: []byte{9}, CreatedAt: t0}
	if err := s.CreateVerificationKey(ctx, vk); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVerificationKey(ctx, "app1", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, store.RevokedToken{AppID: "app1", Hash: "h1", ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sk, _ := token.NewSigningKey(t0)
	if err := s.AddSigningKey(ctx, sk); err != nil {
		t.Fatal(err)
	}
	sk2, _ := token.NewSigningKey(t0.Add(time.Hour))
	if err := s.RotateSigningKey(ctx, sk2, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSecret(ctx, "admin", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateApp(ctx, "app1", func(a *gatehouse.App) error { a.Name, a.UpdatedAt = "renamed", at; return nil }); err != nil {
		t.Fatal(err)
	}

	got := eventsAfter(t, s, 0)
	want := []store.EventKind{store.EventApp, store.EventKey, store.EventSessions, store.EventUser, store.EventSessions, store.EventKey,
		store.EventVerificationKey, store.EventVerificationKey, store.EventToken, store.EventSigningKeys, store.EventSigningKeys, store.EventSecret, store.EventApp}
	if !slices.Equal(kinds(got), want) {
		t.Fatalf("event kinds = %v, want %v", kinds(got), want)
	}
	if last, err := s.LastEventID(ctx); err != nil || last != got[len(got)-1].ID {
		t.Fatalf("LastEventID = %d, %v; want %d", last, err, got[len(got)-1].ID)
	}
	check := func(ok bool, i int) {
		t.Helper()
		if !ok {
			t.Fatalf("event %d = %+v", i, got[i])
		}
	}
	check(got[0].App != nil && got[0].App.ID == "app1" && got[0].App.Name == "app app1", 0)
	check(got[1].Key != nil && got[1].Key.ID == "k1" && got[1].Key.RevokedAt.IsZero() && string(got[1].Key.Hash) == "\x01\x02", 1)
	check(len(got[2].Sessions) == 1 && got[2].Sessions[0].ID == "s1" && got[2].Sessions[0].AppID == "app1" &&
		got[2].Sessions[0].ExpiresAt.Equal(t0.Add(time.Hour)) && !got[2].Sessions[0].RevokedAt.IsZero(), 2)
	check(got[3].User != nil && got[3].User.UserID == "bob" && got[3].User.Banned && !got[3].WasBanned &&
		len(got[3].Sessions) == 1 && got[3].Sessions[0].ID == "s2" && got[3].Sessions[0].RevokedAt.Equal(at), 3)
	check(len(got[4].Sessions) == 1 && got[4].Sessions[0].ID == "s3", 4)
	check(got[5].Key != nil && got[5].Key.RevokedAt.Equal(at), 5)
	check(got[6].VerificationKey != nil && got[6].VerificationKey.ID == "v1" && string(got[6].VerificationKey.Material) == "\x09", 6)
	check(got[7].Removed && got[7].AppID == "app1" && got[7].KeyID == "v1", 7)
	check(got[8].Token != nil && got[8].Token.Hash == "h1" && got[8].Token.ExpiresAt.Equal(t0.Add(time.Hour)), 8)
	check(!got[9].Emergency && got[10].Emergency, 10)
	check(got[11].Name == "admin", 11)
	check(got[12].App != nil && got[12].App.Name == "renamed", 12)
	for i, e := range got {
		if e.At.IsZero() {
			t.Fatalf("event %d has no time", i)
		}
	}
	// Reading from the middle returns the rest.
	if rest := eventsAfter(t, s, got[5].ID); len(rest) != len(got)-6 || rest[0].ID != got[6].ID {
		t.Fatalf("Events after %d = %v", got[5].ID, kinds(rest))
	}
}

// testEventsOnlyOnCommit: a change that fails or is refused leaves no
// event.
func testEventsOnlyOnCommit(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	if _, err := login(s, "app1", "alice", "d1", "s1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	before, err := s.LastEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("refused")
	if _, _, err := s.UpdateUser(ctx, "app1", "alice", func(u *gatehouse.User) error { u.Banned = true; return boom }, true); !errors.Is(err, boom) {
		t.Fatalf("UpdateUser = %v", err)
	}
	if _, _, err := s.UpdateUser(ctx, "app1", "nobody", func(*gatehouse.User) error { return nil }, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUser unknown = %v", err)
	}
	// A login by another user on the device, refused by its check, revokes
	// nothing and writes nothing.
	if _, err := s.Login(ctx, store.LoginRecord{AppID: "app1", UserID: "bob", DeviceID: "d1", Now: t0,
		NewUser: gatehouse.User{ID: "u-bob", AppID: "app1", UserID: "bob", CreatedAt: t0, UpdatedAt: t0},
		Session: gatehouse.Session{ID: "s2", ExpiresAt: t0.Add(time.Hour)}},
		func(*gatehouse.User, bool) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Login = %v", err)
	}
	if _, err := s.UpdateApp(ctx, "app1", func(*gatehouse.App) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateApp = %v", err)
	}
	if _, err := s.UpdateApp(ctx, "nope", func(*gatehouse.App) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateApp unknown = %v", err)
	}
	if _, err := s.RevokeSession(ctx, "app1", "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeSession unknown = %v", err)
	}
	if err := s.CreateKey(ctx, gatehouse.Key{ID: "k9", AppID: "nope", Kind: gatehouse.APIKey, Hash: []byte{1}, CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateKey for unknown app = %v", err)
	}
	if _, err := s.RevokeKey(ctx, "app1", gatehouse.APIKey, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeKey unknown = %v", err)
	}
	if err := s.DeleteVerificationKey(ctx, "app1", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteVerificationKey unknown = %v", err)
	}
	if err := s.CreateApp(ctx, gatehouse.App{ID: "app1", Name: "again", AccessTTL: time.Hour, AuthTokenTTL: time.Minute, CreatedAt: t0, UpdatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateApp twice = %v", err)
	}
	if list := eventsAfter(t, s, before); len(list) != 0 {
		t.Fatalf("failed changes wrote events: %v", kinds(list))
	}
	if got, _ := s.GetSession(ctx, "app1", "s1"); !got.RevokedAt.IsZero() {
		t.Fatalf("refused changes revoked a session")
	}
}

// testEventsPrune: pruning drops old events; a reader behind them is told
// so instead of silently skipping them, and ids keep growing.
func testEventsPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 3 {
		if err := s.SetSecret(ctx, fmt.Sprint("s", i), []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	all := eventsAfter(t, s, 0)
	if len(all) != 3 {
		t.Fatalf("%d events, want 3", len(all))
	}
	if n, err := s.PruneEvents(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("PruneEvents of nothing old = %d, %v", n, err)
	}
	if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("PruneEvents = %d, %v; want 3", n, err)
	}
	if _, err := s.Events(ctx, all[0].ID, 10); !errors.Is(err, store.ErrPruned) {
		t.Fatalf("Events behind the pruned ones = %v, want ErrPruned", err)
	}
	if list, err := s.Events(ctx, all[2].ID, 10); err != nil || len(list) != 0 {
		t.Fatalf("Events after the last pruned = %v, %v", list, err)
	}
	if last, err := s.LastEventID(ctx); err != nil || last != all[2].ID {
		t.Fatalf("LastEventID after pruning everything = %d, %v; want %d", last, err, all[2].ID)
	}
	if err := s.SetSecret(ctx, "again", []byte{1}); err != nil {
		t.Fatal(err)
	}
	next := eventsAfter(t, s, all[2].ID)
	if len(next) != 1 || next[0].ID <= all[2].ID {
		t.Fatalf("event after pruning = %+v; ids must keep growing", next)
	}
}

// testEventsConcurrentNoSkip: while many transactions write events at
// once, a reader that follows the log (always asking for what comes after
// the last id it saw) sees every event exactly once. A backend whose ids
// can commit out of order (a sequence, several writers) fails here unless
// it makes a later id invisible until every earlier one is settled.
func testEventsConcurrentNoSkip(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	const writers, each = 8, 25
	start, err := s.LastEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				var err error
				if i%2 == 0 {
					err = s.SetSecret(ctx, fmt.Sprint("w", w), []byte{byte(i)})
				} else {
					err = s.RevokeToken(ctx, store.RevokedToken{AppID: "app1", Hash: fmt.Sprint(w, "-", i), ExpiresAt: t0})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[int64]bool{}
	last := start
	follow := func() {
		page, err := s.Events(ctx, last, 7)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		for _, e := range page {
			if e.ID <= last || seen[e.ID] {
				t.Fatalf("event %d after %d: out of order or twice", e.ID, last)
			}
			seen[e.ID], last = true, e.ID
		}
	}
	deadline := time.After(60 * time.Second)
loop:
	for {
		select {
		case <-done:
			break loop
		case <-deadline:
			t.Fatal("writers did not finish")
		default:
			follow()
		}
	}
	for {
		n := len(seen)
		follow()
		if len(seen) == n {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := eventsAfter(t, s, start)
	if len(all) != writers*each {
		t.Fatalf("%d events written, want %d", len(all), writers*each)
	}
	for _, e := range all {
		if !seen[e.ID] {
			t.Fatalf("the follower skipped event %d (%s)", e.ID, e.Kind)
		}
	}
}
