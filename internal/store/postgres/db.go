// Package postgres is the multi-node store: every Gatehouse node of a
// cluster opens the same PostgreSQL database through a pgx connection pool.
//
// Transactions run at READ COMMITTED and take the row locks a change needs
// (SELECT … FOR UPDATE), so concurrent writers on several nodes serialize
// where they touch the same rows and run in parallel elsewhere: a login
// locks its device (a transaction-scoped advisory lock) and its user row;
// an update locks the row it changes. A transaction that PostgreSQL aborts
// for a deadlock or a serialization failure is retried from the start,
// which is why store callbacks may run more than once (see package store).
// Concurrent commits share WAL flushes in PostgreSQL itself (its group
// commit), so the store does not batch transactions the way the SQLite
// store must.
//
// Every call is bounded: by the caller's deadline, and by the store's own
// (opTimeout, or listTimeout for whole-table reads) when that is sooner or
// absent, so that a database that stops answering turns into errors, not
// hung requests. The pool replaces broken connections by itself: a
// connection idle for more than a second is pinged before use, idle ones
// are health-checked every few seconds, and a failed one is dropped, so
// service comes back without a restart when the database does.
//
// Migrations are embedded and run by Open under a PostgreSQL advisory
// lock, so that of several nodes starting at once exactly one migrates and
// the others wait for it.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/migrate"
)

var _ store.Store = (*DB)(nil)

const (
	// opTimeout bounds one store call that reads or writes a few rows.
	opTimeout = 5 * time.Second
	// listTimeout bounds the whole-table reads made at startup.
	listTimeout = 2 * time.Minute
	// maxAttempts bounds the retries of a transaction PostgreSQL aborted
	// for a deadlock or a serialization failure.
	maxAttempts = 5
)

// DB is a PostgreSQL-backed store.Store.
type DB struct {
	pool   *pgxpool.Pool
	schema migrate.Status
	// Announcing events (notify.go).
	notify   chan struct{}
	closing  chan struct{}
	notified chan struct{}
}

// parseConfig reads a database URL and applies the store's pool defaults.
func parseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("postgres: invalid database URL (want postgres://user:password@host:port/database?options)")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opTimeout
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "gatehouse"
	// Every time the store writes is UTC; the session zone only matters
	// to people reading the tables with psql.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	return cfg, nil
}

// Open connects to the database at url (postgres://…), runs the
// migrations, and returns the store. Pool settings may be given in the URL
// (pool_max_conns, …); the pool has at least 16 connections.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	st, err := runMigrations(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool, schema: st, notify: make(chan struct{}, 1), closing: make(chan struct{}), notified: make(chan struct{})}
	go db.notifier()
	return db, nil
}

// Schema reports the schema version Open found and what it applied.
func (db *DB) Schema() migrate.Status { return db.schema }

// Close closes the pool. Writes acknowledged before Close were committed.
func (db *DB) Close() error {
	select {
	case <-db.closing:
	default:
		close(db.closing)
		<-db.notified
	}
	db.pool.Close()
	return nil
}

// Probe commits one small write (the health row), so /readyz can tell a
// database that answers but cannot commit (read-only, disk full, a standby)
// from one that serves. It implements session.Prober.
func (db *DB) Probe(ctx context.Context) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO health (id, checked_at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at")
		return err
	})
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	return db.pool.Ping(ctx)
}

// bound returns ctx with the store's own deadline d applied if it is
// sooner than the caller's.
func bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// tx runs fn in a transaction and commits it, retrying the whole
// transaction when PostgreSQL aborts it for a deadlock or a serialization
// failure.
func (db *DB) tx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	var err error
	for range maxAttempts {
		w := &wrote{}
		err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return fn(context.WithValue(ctx, wroteKey{}, w), tx) })
		if err == nil && w.event {
			db.announce()
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool     { return pgCode(err) == "23505" }
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// ts is a time as a query argument: NULL when unset, else whole
// milliseconds (what the SQLite store keeps, so both backends answer the
// same).
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Truncate(time.Millisecond)
}

// fromTS is a scanned time: zero when NULL, else UTC.
func fromTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

func msOf(d time.Duration) int64 { return d.Milliseconds() }

func durMS(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
