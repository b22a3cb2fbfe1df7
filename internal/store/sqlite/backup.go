package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Backup takes a consistent online snapshot of the database with VACUUM
// INTO: one read transaction, so it holds exactly the writes committed
// before it began, and writers are not blocked meanwhile. The snapshot is a
// compact, self-contained database file (no WAL) written to a temporary
// file next to the database; Backup returns it open for reading, with its
// size, and Close removes it.
func (db *DB) Backup(ctx context.Context) (io.ReadCloser, int64, error) {
	dir, err := os.MkdirTemp(filepath.Dir(db.path), ".backup-")
	if err != nil {
		return nil, 0, fmt.Errorf("backup: %w", err)
	}
	target := filepath.Join(dir, "gatehouse.db")
	fail := func(err error) (io.ReadCloser, int64, error) {
		os.RemoveAll(dir)
		return nil, 0, fmt.Errorf("backup: %w", err)
	}
	// A connection of its own: the read pool is query_only, and the
	// snapshot must not queue behind the writer.
	src, err := sql.Open("sqlite", "file:"+db.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	if _, err := src.ExecContext(ctx, "VACUUM INTO '"+strings.ReplaceAll(target, "'", "''")+"'"); err != nil {
		return fail(err)
	}
	f, err := os.Open(target)
	if err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fail(err)
	}
	return &removeOnClose{File: f, dir: dir}, fi.Size(), nil
}

type removeOnClose struct {
	*os.File
	dir string
}

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	os.RemoveAll(r.dir)
	return err
}
