package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// A database written before the internal user id was renamed in the schema
// (sessions.user_id -> user_internal_id) keeps its sessions after Open
// migrates it.
func TestMigrationKeepsSessionsOfOlderDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"migrations/0001_init.sql", "migrations/0002_customer_tokens.sql"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, q := range []string{
		"PRAGMA user_version = 2",
		"INSERT INTO apps (id, name, secure_mode, access_ttl, auth_ttl, created_at, updated_at) VALUES ('app1', 'a', 0, 1000, 1000, 1, 1)",
		"INSERT INTO users (id, app_id, user_id, display_name, created_at, updated_at) VALUES ('u1', 'app1', 'alice', 'alice', 1, 1)",
		"INSERT INTO sessions (id, app_id, user_id, device_id, device_info, created_at, last_login_at, expires_at) VALUES ('s1', 'app1', 'u1', 'd1', '{}', 1, 1, 4102444800000)",
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, err := db.ListSessions(t.Context(), "app1", "u1", time.Unix(0, 0))
	if err != nil || len(list) != 1 || list[0].ID != "s1" || list[0].UserInternalID != "u1" {
		t.Fatalf("sessions after migration = %+v, %v", list, err)
	}
	s, err := db.GetSession(t.Context(), "app1", "s1")
	if err != nil || s.UserInternalID != "u1" || s.DeviceID != "d1" {
		t.Fatalf("GetSession = %+v, %v", s, err)
	}
}
