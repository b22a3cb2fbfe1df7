package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// newBackupCmd is "gatehouse backup --out FILE": a consistent online
// snapshot of a running server's store, through the admin API (owners).
func newBackupCmd(getenv func(string) string) *cobra.Command {
	var out string
	c := adminVerb(getenv, "backup", "Write a consistent online snapshot of the running server's database to --out", nil,
		func(fs *pflag.FlagSet) {
			fs.StringVar(&out, "out", "", "`FILE` to write the snapshot to (a SQLite database; replaced atomically)")
		},
		func(ctx context.Context, c *call, _ []string) (*result, error) {
			if out == "" {
				return nil, usageErr("backup needs --out FILE")
			}
			if err := c.adminToken(); err != nil {
				return nil, err
			}
			c.http = &http.Client{} // a big store takes a while: no overall timeout
			resp, err := c.send(ctx, "POST", "/admin/v1/backup", nil, http.Header{"Authorization": {"Bearer " + c.token}})
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			n, err := writeAtomically(out, resp.Body)
			if err != nil {
				return nil, err
			}
			if resp.ContentLength >= 0 && n != resp.ContentLength {
				os.Remove(out)
				return nil, &cliError{Kind: "unreachable", ExitCode: exitUnreachable, Message: fmt.Sprintf("the backup was cut short (%d of %d bytes)", n, resp.ContentLength)}
			}
			abs, _ := filepath.Abs(out)
			return &result{obj: map[string]any{"out": abs, "bytes": n},
				note: "Backup written. Keep the server's seal key (<data>/seal-key or --seal-key-file) with it: the backup does not contain it, and without it the restored server cannot open its signing keys."}, nil
		})
	return c
}

// writeAtomically writes r to path through a temporary file in the same
// directory, synced, then renamed over path.
func writeAtomically(path string, r io.Reader) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return n, err
	}
	return n, syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// newRestoreCmd is "gatehouse restore --from FILE --data DIR": offline, into
// an empty data directory (locked meanwhile, so no server starts on it).
// The file is checked (integrity, schema not newer than this binary, and
// migrated to this binary's schema) before it takes the name gatehouse.db.
func newRestoreCmd(getenv func(string) string) *cobra.Command {
	var from, data, sealKey string
	var asJSON bool
	c := &cobra.Command{
		Use:   "restore",
		Short: "Restore a backup into an empty data directory (offline)",
		Long: `Restore a backup made by "gatehouse backup" into an empty data directory, with no
server running on it. The backup holds the database only: give the seal key of the
server it came from with --seal-key-file (copied to DIR/seal-key), or put it there
yourself, or start serve with --seal-key-file; without it the restored server refuses
to start.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := loadSettings(cmd.Flags(), getenv); err != nil {
				return &cliError{Kind: "usage", ExitCode: exitUsage, Message: err.Error()}
			}
			if from == "" {
				return usageErr("restore needs --from FILE")
			}
			res, err := restore(cmd.Context(), from, data, sealKey)
			if err != nil {
				return err
			}
			return res.print(cmd.OutOrStdout(), asJSON)
		},
	}
	fs := c.Flags()
	fs.StringVar(&from, "from", "", "backup `FILE` (from gatehouse backup)")
	fs.StringVar(&data, "data", "gatehouse-data", "empty data `DIR` to restore into (created if missing)")
	fs.StringVar(&sealKey, "seal-key-file", "", "the backed-up server's seal key `FILE`, copied to DIR/seal-key")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object")
	markSettings(fs, "data")
	return c
}

func restore(ctx context.Context, from, data, sealKey string) (*result, error) {
	if _, err := os.Stat(from); err != nil {
		return nil, &cliError{Kind: "not_found", ExitCode: exitNotFound, Message: "backup " + err.Error()}
	}
	lock, err := lockDataDir(data, "restore")
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	entries, err := os.ReadDir(data)
	if err != nil {
		return nil, err
	}
	var present []string
	for _, e := range entries {
		if e.Name() != lockName {
			present = append(present, e.Name())
		}
	}
	if len(present) > 0 {
		slices.Sort(present)
		return nil, &cliError{Kind: "refused", ExitCode: exitRefused,
			Message: fmt.Sprintf("refusing to restore into %s: it is not empty (%v)", data, present),
			Hint:    "restore into a new directory, then point serve's --data at it"}
	}
	// Copy, check and migrate under a temporary name; only a good database
	// becomes gatehouse.db.
	tmp := filepath.Join(data, "gatehouse.db.restoring")
	src, err := os.Open(from)
	if err != nil {
		return nil, err
	}
	_, err = writeAtomically(tmp, src)
	src.Close()
	if err != nil {
		return nil, fmt.Errorf("copy the backup: %w", err)
	}
	db, err := sqlite.Open(ctx, tmp)
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("the backup %s cannot be used: %w", from, err)
	}
	st := db.Schema()
	if err := db.Close(); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	final := filepath.Join(data, "gatehouse.db")
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	if err := syncDir(data); err != nil {
		return nil, err
	}
	out := map[string]any{"database": final, "schemaVersion": st.Database, "sealKey": "missing"}
	note := "Restored. Copy the seal key of the server the backup came from to " + filepath.Join(data, "seal-key") +
		" (or start serve with --seal-key-file): without it serve refuses to start."
	if sealKey != "" {
		f, err := os.Open(sealKey)
		if err != nil {
			return nil, usageErr("--seal-key-file: %v", err)
		}
		_, err = writeAtomically(filepath.Join(data, "seal-key"), f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("copy the seal key: %w", err)
		}
		out["sealKey"] = filepath.Join(data, "seal-key")
		note = "Restored, with the seal key. Start it with: gatehouse serve --data " + data
	}
	return &result{obj: out, note: note}, nil
}
