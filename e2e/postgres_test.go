package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/pgtest"
)

// startPostgresServer starts serve on the PostgreSQL database named by
// GATEHOUSE_DATABASE_URL, with a shared
// seal key and a data directory of its own.
func startPostgresServer(t *testing.T, sealKey string) *server {
	t.Helper()
	s := &server{t: t, data: t.TempDir(), logs: &bytes.Buffer{}, extra: []string{"--seal-key-file", sealKey}}
	s.start()
	return s
}

// gatehouse serve --database-url runs on PostgreSQL: the store survives a
// restart, a second node on the same database and seal key answers the
// same, and migrate status reads the PostgreSQL schema.
func TestServeOnPostgres(t *testing.T) {
	dbURL := pgtest.URL(t)
	sealKey := filepath.Join(t.TempDir(), "seal-key")
	if err := os.WriteFile(sealKey, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_DATABASE_URL", dbURL)
	a := startPostgresServer(t, sealKey)
	app := a.cliJSON("app", "create", "OnPostgres")
	apiKey := app["apiKey"].(string)
	status, body := a.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1"}`, "X-API-Key", apiKey)
	if status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	var login struct{ AccessToken string }
	json.Unmarshal(body, &login)

	// A second node: same database and seal key, its own data directory.
	b := startPostgresServer(t, sealKey)
	if status, body := b.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+login.AccessToken); status != 200 {
		t.Fatalf("node b refused node a's token: %d %s", status, body)
	}
	if status, body := b.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d2"}`, "X-API-Key", apiKey); status != 200 || !bytes.Contains(body, []byte(`"userId":"alice"`)) {
		t.Fatalf("login on node b: %d %s", status, body)
	}

	// Restart: the store is the database, not the process.
	a.stop()
	if logs := a.logs.String(); !strings.Contains(logs, "store=postgres") || strings.Contains(logs, "gatehouse.db") {
		t.Fatalf("serve did not say it runs on PostgreSQL:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(a.data, "gatehouse.db")); err == nil {
		t.Fatal("serve --database-url also created a SQLite file")
	}
	a.start()
	if status, body := a.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+login.AccessToken); status != 200 {
		t.Fatalf("token refused after a restart: %d %s", status, body)
	}

	out := a.cli("migrate", "status")
	if !strings.Contains(out, "0 pending") || strings.Contains(out, "PASSWORD") {
		t.Fatalf("migrate status on PostgreSQL:\n%s", out)
	}
}

// Without a seal key file the nodes of one database could each generate
// their own; serve refuses, naming the fix. A URL that is not PostgreSQL is
// refused too.
func TestServePostgresNeedsSealKey(t *testing.T) {
	out := serveMustFail(t, t.TempDir(), "--database-url", "postgres://postgres@127.0.0.1:5432/none")
	if !strings.Contains(out, "--seal-key-file") {
		t.Fatalf("serve --database-url without --seal-key-file: %s", out)
	}
	out = serveMustFail(t, t.TempDir(), "--database-url", "mysql://root:hunter2@db/x", "--seal-key-file", "x")
	if !strings.Contains(out, "unknown database") || strings.Contains(out, "hunter2") {
		t.Fatalf("serve with a mysql URL: %s", out)
	}
}
