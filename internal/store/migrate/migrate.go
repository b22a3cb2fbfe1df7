// Package migrate runs a store backend's schema migrations with
// pressly/goose v3, the same way for every backend.
//
// A backend embeds its SQL files (migrations/NNNN_what.sql, each starting
// with "-- +goose Up"; statements that contain semicolons, such as
// triggers or functions, go between "-- +goose StatementBegin" and
// "-- +goose StatementEnd") and calls Up when it opens:
//
//	//go:embed migrations/*.sql
//	var migrations embed.FS
//
//	st, err := migrate.Up(ctx, db, migrate.Config{Dialect: goose.DialectPostgres, FS: migrations, Dir: "migrations"})
//
// Up refuses a database whose schema is newer than the binary knows
// (*TooNewError names both versions), so an older binary never runs against
// a schema it does not understand, then applies the pending migrations, each
// in its own transaction, recording them in goose's version table
// (goose_db_version). Status reports the same without applying anything;
// "gatehouse migrate status" prints it.
//
// Versions are the file numbers: take the next free number on main when you
// add a migration. Migrations only go forward (no Down sections): a
// downgrade is a restore of a backup.
//
// Several nodes opening one PostgreSQL database at once: pass
// goose.WithSessionLocker(lock.NewPostgresSessionLocker()) in Options so
// only one of them migrates.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// Config describes one backend's migrations.
type Config struct {
	Dialect goose.Dialect
	// FS holds the migrations, in Dir ("." when empty).
	FS  fs.FS
	Dir string
	// Legacy, when not nil, returns the schema version a database recorded
	// before goose managed it (the SQLite store's PRAGMA user_version: the
	// number of files applied). Those versions are recorded as applied the
	// first time, without running them again.
	Legacy func(ctx context.Context, db *sql.DB) (int64, error)
	// Options are passed to goose.NewProvider (for example a session
	// locker).
	Options []goose.ProviderOption
}

// Migration is one migration and whether the database has it.
type Migration struct {
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"appliedAt,omitzero"`
}

// Status is a database's schema against the binary's migrations.
type Status struct {
	// Database is the highest version applied to the database (0: none).
	Database int64 `json:"database"`
	// Binary is the highest version this binary knows.
	Binary int64 `json:"binary"`
	// Applied lists what Up applied on this call (empty for Status).
	Applied    []int64     `json:"applied,omitempty"`
	Migrations []Migration `json:"migrations"`
}

// Pending reports how many known migrations the database lacks.
func (s Status) Pending() int {
	n := 0
	for _, m := range s.Migrations {
		if !m.Applied {
			n++
		}
	}
	return n
}

// ErrTooNew matches a *TooNewError.
var ErrTooNew = errors.New("database schema is newer than this binary")

// TooNewError is the refusal of a database whose schema is newer than the
// binary's migrations.
type TooNewError struct{ Database, Binary int64 }

func (e *TooNewError) Error() string {
	return fmt.Sprintf("the database schema is version %d, newer than this binary knows (version %d): "+
		"run the gatehouse release that wrote it or a later one, or restore a backup taken with this version", e.Database, e.Binary)
}

func (e *TooNewError) Is(target error) bool { return target == ErrTooNew }

// Up adopts a legacy version, refuses a too-new schema, and applies the
// pending migrations.
func Up(ctx context.Context, db *sql.DB, cfg Config) (Status, error) {
	p, err := provider(db, cfg)
	if err != nil {
		return Status{}, err
	}
	if _, err := check(ctx, db, p, cfg); err != nil {
		return Status{}, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("apply migrations: %w", err)
	}
	st, err := status(ctx, p)
	for _, r := range res {
		st.Applied = append(st.Applied, r.Source.Version)
	}
	return st, err
}

// Check adopts a legacy version and refuses a too-new schema, without
// applying anything.
func Check(ctx context.Context, db *sql.DB, cfg Config) (Status, error) {
	p, err := provider(db, cfg)
	if err != nil {
		return Status{}, err
	}
	return check(ctx, db, p, cfg)
}

func provider(db *sql.DB, cfg Config) (*goose.Provider, error) {
	fsys := cfg.FS
	if cfg.Dir != "" && cfg.Dir != "." {
		sub, err := fs.Sub(cfg.FS, cfg.Dir)
		if err != nil {
			return nil, err
		}
		fsys = sub
	}
	opts := append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, cfg.Options...)
	p, err := goose.NewProvider(cfg.Dialect, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

func check(ctx context.Context, db *sql.DB, p *goose.Provider, cfg Config) (Status, error) {
	// GetDBVersion creates goose's version table on first use.
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("read the schema version: %w", err)
	}
	latest := latestVersion(p)
	if cfg.Legacy != nil {
		old, err := cfg.Legacy(ctx, db)
		if err != nil {
			return Status{}, fmt.Errorf("read the legacy schema version: %w", err)
		}
		if old > latest {
			return Status{}, &TooNewError{Database: old, Binary: latest}
		}
		if old > cur {
			if err := adopt(ctx, db, cfg.Dialect, cur, old); err != nil {
				return Status{}, fmt.Errorf("record legacy schema version %d: %w", old, err)
			}
			cur = old
		}
	}
	if cur > latest {
		return Status{}, &TooNewError{Database: cur, Binary: latest}
	}
	return status(ctx, p)
}

func latestVersion(p *goose.Provider) int64 {
	src := p.ListSources()
	if len(src) == 0 {
		return 0
	}
	return src[len(src)-1].Version
}

// adopt records versions from+1..to as applied, in one transaction.
func adopt(ctx context.Context, db *sql.DB, d goose.Dialect, from, to int64) error {
	st, err := database.NewStore(d, goose.DefaultTablename)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for v := from + 1; v <= to; v++ {
		if err := st.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func status(ctx context.Context, p *goose.Provider) (Status, error) {
	ms, err := p.Status(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("migration status: %w", err)
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Database: cur, Binary: latestVersion(p)}
	for _, m := range ms {
		st.Migrations = append(st.Migrations, Migration{Version: m.Source.Version, Name: path.Base(m.Source.Path),
			Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt})
	}
	return st, nil
}
