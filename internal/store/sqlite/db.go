// Package sqlite is the embedded default store: one SQLite file, opened with
// the pure-Go modernc.org/sqlite driver (no cgo), in WAL mode with
// synchronous=FULL so that every acknowledged write survives a crash or a
// power loss.
//
// All writes go through one writer goroutine that commits them in batches
// (group commit): concurrent logins share one transaction and one fsync, each
// in its own savepoint so that one failing login does not undo the others.
// Reads use a pool of connections and never wait for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/migrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ store.Store = (*DB)(nil)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

// DB is a SQLite-backed store.Store.
type DB struct {
	// Prepared statements, by query text: parsing SQL costs more than
	// running it on the login path.
	rstmts sync.Map
	wstmts sync.Map

	path   string
	read   *sql.DB
	write  *sql.DB
	ops    chan op
	schema migrate.Status
	closed chan struct{}
	done   chan struct{}
}

type op struct {
	fn   func(tx *sql.Tx) error
	done chan error
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("sqlite store is closed")

// Open opens (creating if needed) the database file at path and runs the
// migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// Only the writer goroutine writes, one transaction at a time. The second
	// connection lets it prepare a statement it has not seen yet while its
	// transaction holds the first; Tx.StmtContext then reuses the parsed
	// statement on whichever connection runs the transaction.
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(2)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db := &DB{path: path, read: r, write: w, ops: make(chan op, maxBatch), closed: make(chan struct{}), done: make(chan struct{})}
	if err := db.checkIntegrity(ctx, path); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	go db.writer()
	return db, nil
}

// ErrDamaged reports a database file that fails SQLite's structural check.
var ErrDamaged = errors.New("the database file is damaged")

// checkIntegrity runs PRAGMA quick_check over the whole file before anything
// reads it. Revocations, bans and deletions are read into memory at start;
// a damaged page could hide some of them, and a server that started anyway
// would accept revoked tokens (issue 8: two zeroed bytes in the
// sessions_revoked index made 150 logged-out tokens valid again after a
// restart). quick_check reads every page and checks the b-trees' structure,
// not the match between each index and its table; the revocation loads
// therefore scan their tables rather than trust an index (see
// ListRevokedSessions). Its cost is one read of the file (BenchmarkOpenLargeStore:
// 3 s for 1,000,000 sessions; README).
func (db *DB) checkIntegrity(ctx context.Context, path string) error {
	damaged := func(what string) error {
		return fmt.Errorf("%w: %s %s: refusing to start, since the revocation state read from it could be incomplete; restore it from a backup", ErrDamaged, path, what)
	}
	rows, err := db.write.QueryContext(ctx, "PRAGMA quick_check(20)")
	if err != nil {
		if isCorrupt(err) {
			return damaged(err.Error())
		}
		return fmt.Errorf("check %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("check %s: %w", path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if isCorrupt(err) {
			return damaged(err.Error())
		}
		return fmt.Errorf("check %s: %w", path, err)
	}
	if len(problems) > 0 {
		return damaged("fails PRAGMA quick_check (" + strings.Join(problems, "; ") + ")")
	}
	return nil
}

func isCorrupt(err error) bool {
	c := sqliteCode(err) & 0xff
	return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
}

// migrations is the SQLite store's schema for internal/store/migrate.
// Before goose, this store recorded its version in PRAGMA user_version (the
// number of files applied, in order); Legacy hands that to migrate, which
// records those versions in goose's table the first time, so stores made by
// earlier releases upgrade without re-running anything.
var migrationConfig = migrate.Config{
	Dialect: goose.DialectSQLite3,
	FS:      migrations,
	Dir:     "migrations",
	Legacy: func(ctx context.Context, db *sql.DB) (int64, error) {
		var v int64
		err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
		return v, err
	},
}

func (db *DB) migrate(ctx context.Context) error {
	st, err := migrate.Up(ctx, db.write, migrationConfig)
	db.schema = st
	return err
}

// Schema reports the schema version at Open and the migrations Open
// applied.
func (db *DB) Schema() migrate.Status { return db.schema }

// MigrationStatus reports the schema of the database file at path against
// this binary's migrations, without applying any. It refuses (with
// *migrate.TooNewError) a database newer than the binary. It records in
// goose's version table a version the store recorded before goose managed
// it, and nothing else.
func MigrationStatus(ctx context.Context, path string) (migrate.Status, error) {
	if _, err := os.Stat(path); err != nil {
		return migrate.Status{}, err
	}
	d, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return migrate.Status{}, err
	}
	defer d.Close()
	d.SetMaxOpenConns(1)
	return migrate.Check(ctx, d, migrationConfig)
}

// Close stops the writer after it has committed what it accepted, and closes
// the database.
func (db *DB) Close() error {
	select {
	case <-db.closed:
		return nil
	default:
	}
	close(db.closed)
	<-db.done
	for _, m := range []*sync.Map{&db.rstmts, &db.wstmts} {
		m.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	}
	return errors.Join(db.write.Close(), db.read.Close())
}

// exec runs fn in a write transaction (shared with other writes) and waits
// for the commit.
func (db *DB) exec(ctx context.Context, fn func(tx *sql.Tx) error) error {
	o := op{fn: fn, done: make(chan error, 1)}
	select {
	case <-db.closed:
		return ErrClosed
	default:
	}
	select {
	case db.ops <- o:
	case <-db.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write will be committed or fail; wait for the answer
	// even if ctx ends, so a caller never reports failure for a write that
	// became durable (or the reverse).
	return <-o.done
}

func (db *DB) writer() {
	defer close(db.done)
	batch := make([]op, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case o := <-db.ops:
			batch = append(batch, o)
		case <-db.closed:
			// Drain what was queued before Close.
			for {
				select {
				case o := <-db.ops:
					db.commit([]op{o})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case o := <-db.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

func (db *DB) commit(batch []op) {
	ctx := context.Background()
	start := time.Now()
	errs := make([]error, len(batch))
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		for _, o := range batch {
			o.done <- fmt.Errorf("begin: %w", err)
		}
		return
	}
	single := len(batch) == 1
	for i, o := range batch {
		if single {
			errs[i] = o.fn(tx)
			continue
		}
		if _, err := db.txExec(ctx, tx, "SAVEPOINT op"); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = o.fn(tx)
		if errs[i] != nil {
			if _, err := db.txExec(ctx, tx, "ROLLBACK TO op"); err != nil {
				errs[i] = errors.Join(errs[i], err)
			}
		}
		if _, err := db.txExec(ctx, tx, "RELEASE op"); err != nil {
			errs[i] = errors.Join(errs[i], err)
		}
	}
	if single && errs[0] != nil {
		tx.Rollback()
		batch[0].done <- errs[0]
		return
	}
	if err := tx.Commit(); err != nil {
		for _, o := range batch {
			o.done <- fmt.Errorf("commit: %w", err)
		}
		return
	}
	metrics.StoreCommit.Observe(time.Since(start).Seconds())
	metrics.StoreBatch.Observe(float64(len(batch)))
	for i, o := range batch {
		o.done <- errs[i]
	}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

func prepared(ctx context.Context, cache *sync.Map, conn *sql.DB, q string) (*sql.Stmt, error) {
	if st, ok := cache.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := cache.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (db *DB) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	st, err := prepared(ctx, &db.wstmts, db.write, q)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (db *DB) txQuery(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	st, err := prepared(ctx, &db.wstmts, db.write, q)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

// errRow carries a preparation error through the *sql.Row-like interface.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) scanner {
	st, err := prepared(ctx, &db.wstmts, db.write, q)
	if err != nil {
		return errRow{err}
	}
	return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

func (db *DB) readRow(ctx context.Context, q string, args ...any) scanner {
	st, err := prepared(ctx, &db.rstmts, db.read, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (db *DB) readQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := prepared(ctx, &db.rstmts, db.read, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// Probe commits one small write (the health row) through the group commit,
// fsync included: the readiness check that the store can commit.
func (db *DB) Probe(ctx context.Context) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO health (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
			time.Now().UnixMilli())
		return err
	})
}
