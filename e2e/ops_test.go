package e2e

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// serveMustFail runs serve on data and expects it to exit at once with a
// failure; it returns everything serve printed.
func serveMustFail(t *testing.T, data string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, args...)...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_TOKEN="+adminToken)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Fatalf("serve exited with %v, want a failure:\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve kept running:\n%s", out.String())
	}
	if strings.Contains(out.String(), "gatehouse listening on") {
		t.Fatalf("serve started listening:\n%s", out.String())
	}
	return out.String()
}

// TestServeRefusesNewerSchema: a database whose schema is newer than the
// binary knows is refused at start, naming both versions; migrate status
// says the same.
func TestServeRefusesNewerSchema(t *testing.T) {
	data := t.TempDir()
	runServeOnce(t, data)
	out, _, code := runCLI(t, nil, "migrate", "status", "--data", data, "--json")
	if code != 0 || !strings.Contains(out, `"database":`) || strings.Contains(out, `"applied":false`) {
		t.Fatalf("migrate status of a fresh store: exit %d %s", code, out)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	var known int
	if err := db.QueryRow("SELECT max(version_id) FROM goose_db_version").Scan(&known); err != nil || known < 3 {
		t.Fatalf("goose version table after serve: %d %v", known, err)
	}
	if _, err := db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (4242, 1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out = serveMustFail(t, data)
	if !strings.Contains(out, "version 4242") || !strings.Contains(out, "version "+strconv.Itoa(known)) {
		t.Fatalf("the refusal must name both versions:\n%s", out)
	}
	_, errOut, code := runCLI(t, nil, "migrate", "status", "--data", data)
	if code == 0 || !strings.Contains(errOut, "4242") {
		t.Fatalf("migrate status: exit %d %s", code, errOut)
	}
}
