package postgres

import (
	"context"
	"embed"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/gatehouse-auth/gatehouse/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

var migrateConfig = migrate.Config{Dialect: goose.DialectPostgres, FS: migrations, Dir: "migrations"}

// migrationLockID is the key of the session-level advisory lock held while
// migrating: crc32("gatehouse-migrate"). It differs from goose's default so
// that another goose-managed application sharing the database does not
// wait on Gatehouse, or the reverse.
const migrationLockID int64 = 0x717529a6

// migrateTimeout bounds how long Open waits for the migration lock and the
// migrations together.
const migrateTimeout = 5 * time.Minute

// runMigrations applies the embedded migrations (internal/store/migrate,
// goose's version table) while holding the advisory lock on a connection
// of its own, so that of several nodes starting at once one migrates and
// the others wait (pg_advisory_lock blocks; no polling) and then find
// nothing to do. The lock covers everything goose does, creating its
// version table included.
func runMigrations(ctx context.Context, cfg *pgx.ConnConfig) (migrate.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	lock, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return migrate.Status{}, err
	}
	// Closing the session releases the lock, whatever happened.
	defer lock.Close(context.Background())
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		return migrate.Status{}, err
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	return migrate.Up(ctx, sqlDB, migrateConfig)
}

// MigrationStatus reports the schema of the database at url against this
// binary's migrations, applying nothing ("gatehouse migrate status").
func MigrationStatus(ctx context.Context, url string) (migrate.Status, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return migrate.Status{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	sqlDB := stdlib.OpenDB(*cfg.ConnConfig)
	defer sqlDB.Close()
	return migrate.Check(ctx, sqlDB, migrateConfig)
}
