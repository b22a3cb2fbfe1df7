package sqlite_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store/migrate"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// knownVersion is the highest migration this binary embeds.
func knownVersion(t *testing.T) int64 {
	names, _ := filepath.Glob("migrations/*.sql")
	return int64(len(names))
}

// handRolled makes a database the way releases before goose did: every
// migration file up to n run as one script, then PRAGMA user_version = n.
func handRolled(t *testing.T, path string, n int) {
	t.Helper()
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	names, _ := filepath.Glob("migrations/*.sql")
	for _, name := range names[:n] {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := old.Exec("PRAGMA user_version = " + itoa(n)); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec("INSERT INTO apps (id, name, secure_mode, access_ttl, auth_ttl, created_at, updated_at) VALUES ('app1', 'kept', 0, 1000, 1000, 1, 1)"); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// A store fully migrated by the hand-rolled code is adopted: its versions
// are recorded in goose's table and nothing runs twice (re-running the
// column rename of 0003 would fail), and its data stays.
func TestGooseAdoptsHandRolledSchema(t *testing.T) {
	n := int(knownVersion(t))
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	handRolled(t, path, n)

	st, err := sqlite.MigrationStatus(t.Context(), path)
	if err != nil || st.Database != int64(n) || st.Pending() != 0 {
		t.Fatalf("status of a hand-rolled v%d store: %+v %v", n, st, err)
	}
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if s := db.Schema(); s.Database != int64(n) || len(s.Applied) != 0 {
		t.Fatalf("schema after open: %+v", s)
	}
	a, err := db.GetApp(t.Context(), "app1")
	if err != nil || a.Name != "kept" {
		t.Fatalf("app of the old store: %+v %v", a, err)
	}
	db.Close()

	// And opening again changes nothing.
	db, err = sqlite.Open(t.Context(), path)
	if err != nil || len(db.Schema().Applied) != 0 {
		t.Fatalf("second open: %+v %v", db.Schema(), err)
	}
	db.Close()
}

// A store the hand-rolled code left one version behind gets the rest from
// goose.
func TestGooseUpgradesOlderHandRolledSchema(t *testing.T) {
	n := int(knownVersion(t))
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	handRolled(t, path, 1)
	st, err := sqlite.MigrationStatus(t.Context(), path)
	if err != nil || st.Database != 1 || st.Pending() != n-1 {
		t.Fatalf("status: %+v %v", st, err)
	}
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s := db.Schema(); s.Database != int64(n) || len(s.Applied) != n-1 || s.Applied[0] != 2 {
		t.Fatalf("schema after open: %+v", s)
	}
}

// A database newer than the binary is refused, naming both versions,
// whether goose or the hand-rolled code recorded the version.
func TestRefusesNewerSchema(t *testing.T) {
	n := knownVersion(t)
	dir := t.TempDir()

	path := filepath.Join(dir, "goose.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, _ := sql.Open("sqlite", "file:"+path)
	if _, err := raw.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, 1)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	legacy := filepath.Join(dir, "legacy.db")
	raw, _ = sql.Open("sqlite", "file:"+legacy)
	if _, err := raw.Exec("PRAGMA user_version = 998"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	for p, v := range map[string]int64{path: 999, legacy: 998} {
		_, err := sqlite.Open(t.Context(), p)
		var tn *migrate.TooNewError
		if !errors.Is(err, migrate.ErrTooNew) || !errors.As(err, &tn) || tn.Database != v || tn.Binary != n {
			t.Fatalf("open of a v%d database: %v", v, err)
		}
		if msg := err.Error(); !strings.Contains(msg, itoa64(v)) || !strings.Contains(msg, "version "+itoa64(n)) {
			t.Fatalf("the refusal must name both versions: %s", msg)
		}
		if _, err := sqlite.MigrationStatus(t.Context(), p); !errors.Is(err, migrate.ErrTooNew) {
			t.Fatalf("status of a v%d database: %v", v, err)
		}
	}
}
