package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/migrate"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// openedStore is a backend as serve and migrate use it.
type openedStore interface {
	store.Store
	// Schema reports the schema version found and what opening applied.
	Schema() migrate.Status
}

// backend opens one kind of store. Only this command knows the concrete
// backends; everything else sees store.Store.
type backend struct {
	// open opens (creating and migrating) the store at where.
	open func(ctx context.Context, where string) (openedStore, error)
	// status reports the schema at where, applying nothing.
	status func(ctx context.Context, where string) (migrate.Status, error)
	// listen, for stores several nodes share, returns the background work
	// that calls wake when another node writes to the event log. The
	// nodes poll the log anyway; this only makes them look sooner. A
	// single-process store needs none: its writes wake the node in
	// process.
	listen func(where string, log *slog.Logger, wake func()) (run func(context.Context) error, err error)
}

// backends are the stores by driver name: the scheme of --database-url,
// or sqlite for the file under --data.
var backends = map[string]backend{
	"sqlite": {
		open: func(ctx context.Context, path string) (openedStore, error) {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("data directory: %w", err)
			}
			return sqlite.Open(ctx, path)
		},
		status: sqlite.MigrationStatus,
	},
	"postgres": {
		open:   func(ctx context.Context, u string) (openedStore, error) { return postgres.Open(ctx, u) },
		status: postgres.MigrationStatus,
		listen: func(u string, log *slog.Logger, wake func()) (func(context.Context) error, error) {
			l, err := postgres.NewListener(u, log, wake)
			if err != nil {
				return nil, err
			}
			return l.Run, nil
		},
	},
}

// storeLocation picks the backend and where its data is: --database-url
// when given (postgres:// or postgresql://), else gatehouse.db under
// --data. shown is safe to print and log (no password).
func storeLocation(databaseURL, data string) (driver, where, shown string, err error) {
	if databaseURL == "" {
		p := filepath.Join(data, "gatehouse.db")
		return "sqlite", p, p, nil
	}
	u, perr := url.Parse(databaseURL)
	if perr != nil {
		// The parse error quotes the URL, password included.
		return "", "", "", fmt.Errorf("--database-url is not a URL (want postgres://user:password@host:port/database)")
	}
	switch strings.ToLower(u.Scheme) {
	case "postgres", "postgresql":
		return "postgres", databaseURL, u.Redacted(), nil
	}
	return "", "", "", fmt.Errorf("--database-url: unknown database %q (want postgres://…; leave it unset for SQLite under --data)", u.Scheme)
}
