package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse-auth/gatehouse/internal/store/migrate"
)

// newMigrateCmd is "gatehouse migrate status|up": the schema of the store in
// --data (or at --database-url) against this binary's migrations. serve applies pending migrations
// itself when it starts; "migrate up" does it ahead of time (say, before
// switching traffic to a new release).
func newMigrateCmd(getenv func(string) string) *cobra.Command {
	verb := func(use, short string, apply bool) *cobra.Command {
		var data, databaseURL string
		var asJSON bool
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  exactArgs(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				if err := loadSettings(cmd.Flags(), getenv); err != nil {
					return &cliError{Kind: "usage", ExitCode: exitUsage, Message: err.Error()}
				}
				driver, where, path, err := storeLocation(databaseURL, data)
				if err != nil {
					return &cliError{Kind: "usage", ExitCode: exitUsage, Message: err.Error()}
				}
				var st migrate.Status
				if apply && driver == "sqlite" {
					lock, err := lockDataDir(data, "migrate up")
					if err != nil {
						return err
					}
					defer lock.Close()
				}
				if apply {
					var db openedStore
					if db, err = backends[driver].open(cmd.Context(), where); err == nil {
						st = db.Schema()
						err = db.Close()
					}
				} else {
					st, err = backends[driver].status(cmd.Context(), where)
				}
				if errors.Is(err, os.ErrNotExist) {
					return &cliError{Kind: "not_found", ExitCode: exitNotFound, Message: "no database at " + path, Hint: "point --data (or GATEHOUSE_DATA) at the server's data directory"}
				}
				if err != nil {
					return err
				}
				if asJSON {
					return (&result{obj: toMap(st)}).print(cmd.OutOrStdout(), true)
				}
				printSchema(cmd.OutOrStdout(), path, st)
				return nil
			},
		}
		c.Flags().StringVar(&data, "data", "gatehouse-data", "data `DIR` holding gatehouse.db")
		secretStringVar(c.Flags(), &databaseURL, "database-url", "", "PostgreSQL `URL` (postgres://…) instead of SQLite under --data")
		markSettings(c.Flags(), "data")
		c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
		return c
	}
	return group("migrate", "Show or apply the database schema migrations",
		verb("status", "Show the schema version of the database and the migrations this binary knows", false),
		verb("up", "Apply the pending migrations (serve also does it when it starts)", true),
	)
}

func printSchema(w io.Writer, path string, st migrate.Status) {
	fmt.Fprintf(w, "%s: schema version %d; this binary knows up to %d; %d pending\n", path, st.Database, st.Binary, st.Pending())
	if len(st.Applied) > 0 {
		fmt.Fprintf(w, "applied now: %v\n", st.Applied)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED AT")
	for _, m := range st.Migrations {
		at := "pending"
		if m.Applied {
			at = m.AppliedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strconv.FormatInt(m.Version, 10), m.Name, at)
	}
	tw.Flush()
}
