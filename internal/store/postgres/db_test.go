package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

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

	admin, err := pgx.Connect(t.Context(), pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := admin.QueryRow(t.Context(), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
		cfg.Database).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
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
