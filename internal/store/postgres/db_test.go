package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse"

	"github.com/gatehouse-auth/gatehouse/internal/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := postgres.Open(t.Context(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// Nodes starting at once on an empty database: every one opens, and the
// migrations ran once (the others waited on the advisory lock and found
// nothing to do).
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pgtest.URL(t)
	const nodes = 4
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			db, err := postgres.Open(context.Background(), url)
			if err == nil {
				_, err = db.ListApps(context.Background())
				db.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var applied, distinct int
	if err := conn.QueryRow(t.Context(), "SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0").Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || applied != distinct {
		t.Fatalf("goose_db_version has %d rows for %d versions: some migration ran more than once (or none ran)", applied, distinct)
	}
}

// When every connection of the pool is killed (a database restart or
// failover looks like this to the pool), the store serves again by itself:
// calls fail at most while broken connections are found and replaced.
func TestPoolRecoversFromKilledConnections(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Fill the pool with several connections.
	parallelCalls(t, db, 8)

	if killed := newDBAdmin(t, url).terminateSessions(); killed == 0 {
		t.Fatal("no connection of the store was found to kill")
	}
	// Each broken connection fails at most one call before the pool drops
	// it; after that every call succeeds again, with no restart.
	var failures int
	for ok := 0; ok < 3; {
		if _, err := db.ListApps(t.Context()); err != nil {
			failures++
			if failures > 2*16 {
				t.Fatalf("store still failing after %d calls: %v", failures, err)
			}
			continue
		}
		ok++
	}
	parallelCalls(t, db, 8)
}

// While the database refuses connections (an outage, as the store sees
// it), calls fail promptly with an error that is neither ErrNotFound nor
// ErrConflict (the session layer answers those 503, retryable), reads and
// writes alike; once it accepts them again the same store serves again,
// with no reopening.
func TestStoreOutageFailsFastAndRecovers(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	a := gatehouse.App{ID: "app1", Name: "a", AccessTTL: gatehouse.DefaultAccessTTL, AuthTokenTTL: gatehouse.DefaultAuthTokenTTL, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.CreateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	dba := newDBAdmin(t, url)
	dba.alter("WITH ALLOW_CONNECTIONS false")
	dba.terminateSessions()
	t.Cleanup(func() { dba.alterQuietly("WITH ALLOW_CONNECTIONS true") })

	for _, call := range []struct {
		name string
		fn   func() error
	}{
		{"Probe", func() error { return db.Probe(ctx) }},
		{"GetApp", func() error { _, err := db.GetApp(ctx, "app1"); return err }},
		{"ListApps", func() error { _, err := db.ListApps(ctx); return err }},
		{"UpdateApp", func() error {
			_, err := db.UpdateApp(ctx, "app1", func(a *gatehouse.App) error { a.Name = "b"; return nil })
			return err
		}},
		{"Login", func() error {
			_, err := db.Login(ctx, store.LoginRecord{AppID: "app1", UserID: "alice", DeviceID: "d1", Now: time.Now(),
				NewUser: gatehouse.User{ID: "u1", AppID: "app1", UserID: "alice"}, Session: gatehouse.Session{ID: "s1", ExpiresAt: time.Now().Add(time.Hour)}},
				func(*gatehouse.User, bool) error { return nil })
			return err
		}},
	} {
		start := time.Now()
		err := call.fn()
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Fatalf("%s during the outage = %v, want an unavailability error", call.name, err)
		}
		// Bounded: the store's own deadline is 5 s; a refused connection
		// is far quicker.
		if d := time.Since(start); d > 6*time.Second {
			t.Fatalf("%s took %s to fail", call.name, d)
		}
	}

	dba.alter("WITH ALLOW_CONNECTIONS true")
	// Service comes back by itself: poll with a deadline, no sleeps.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := db.GetApp(ctx, "app1")
		if err == nil {
			if got.Name != "a" {
				t.Fatalf("a write failed during the outage but was stored: %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %v", err)
		}
	}
	if _, err := db.UpdateApp(ctx, "app1", func(a *gatehouse.App) error { a.Name = "c"; return nil }); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	if err := db.Probe(ctx); err != nil {
		t.Fatalf("probe after recovery: %v", err)
	}
}

// TestProbeNeedsCommits: a database that answers queries but cannot commit
// a write (here: read-only by default for new sessions) fails the readiness
// probe, and passes it again once writes commit.
func TestProbeNeedsCommits(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	if err := db.Probe(ctx); err != nil {
		t.Fatalf("probe of a healthy database: %v", err)
	}
	dba := newDBAdmin(t, url)
	readOnly := func(on bool) {
		t.Helper()
		dba.alter(fmt.Sprintf("SET default_transaction_read_only = %v", on))
		dba.terminateSessions() // the setting applies to new sessions: end the pool's
	}
	readOnly(true)
	t.Cleanup(func() { dba.alterQuietly("SET default_transaction_read_only = false") })
	// The pool notices its killed connections on first use; every attempt
	// on a fresh connection must fail as read-only.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := db.ListApps(ctx)
		if err == nil {
			break // reads work on the read-only database
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads on the read-only database: %v", err)
		}
	}
	if err := db.Probe(ctx); err == nil {
		t.Fatal("probe passed on a database that cannot commit writes")
	}
	readOnly(false)
	deadline = time.Now().Add(20 * time.Second)
	for db.Probe(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("probe did not pass again once writes commit: %v", db.Probe(ctx))
		}
	}
}

func parallelCalls(t *testing.T, db *postgres.DB, n int) {
	t.Helper()
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := db.ListApps(context.Background())
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// dbAdmin changes a test database from outside, over a superuser
// connection to the maintenance database.
type dbAdmin struct {
	t    *testing.T
	conn *pgx.Conn
	name string
}

func newDBAdmin(t *testing.T, url string) *dbAdmin {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the cleanups that still use it.
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &dbAdmin{t: t, conn: conn, name: cfg.Database}
}

// alter runs ALTER DATABASE <the test database> clause.
func (a *dbAdmin) alter(clause string) {
	a.t.Helper()
	if _, err := a.conn.Exec(a.t.Context(), fmt.Sprintf("ALTER DATABASE %s %s", a.name, clause)); err != nil {
		a.t.Fatal(err)
	}
}

// alterQuietly is alter for cleanups, which run after the test's context
// is done and must not fail the test.
func (a *dbAdmin) alterQuietly(clause string) {
	a.conn.Exec(context.Background(), fmt.Sprintf("ALTER DATABASE %s %s", a.name, clause))
}

// terminateSessions ends every connection to the test database and says
// how many there were.
func (a *dbAdmin) terminateSessions() int {
	a.t.Helper()
	var n int
	if err := a.conn.QueryRow(a.t.Context(), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", a.name).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}
