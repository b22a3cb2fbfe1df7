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

// TestDataDirLock: a second serve on the same data directory exits at once,
// naming the first (pid and start time); migrate up is refused too; once
// the first stops, the directory is free again.
func TestDataDirLock(t *testing.T) {
	s := startServer(t)
	start := time.Now()
	out := serveMustFail(t, s.data)
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("the second serve took %v to give up", took)
	}
	pid := strconv.Itoa(s.cmd.Process.Pid)
	if !strings.Contains(out, "in use by gatehouse serve (pid "+pid+" ") || !strings.Contains(out, "started ") {
		t.Fatalf("the refusal must name the holder (pid %s):\n%s", pid, out)
	}
	if _, errOut, code := runCLI(t, nil, "migrate", "up", "--data", s.data); code == 0 || !strings.Contains(errOut, "pid "+pid) {
		t.Fatalf("migrate up while serving: exit %d %s", code, errOut)
	}
	// The first still serves, alone.
	waitReady(t, s, "of the first")
	s.stop()
	s.start()
	// Ready once the restarted server has loaded its state and started its
	// listeners; until then /readyz may rightly answer 503.
	waitReady(t, s, "after a restart on the freed directory")
}

// TestReadyzWhenTheStoreCannotCommit: while another process holds the
// database's write lock, writes cannot commit: /readyz answers 503 naming
// the store, /healthz stays 200; when the lock goes, /readyz is 200 again.
func TestReadyzWhenTheStoreCannotCommit(t *testing.T) {
	s := startServer(t)
	waitReady(t, s, "at start")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.data, "gatehouse.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	// A successful probe answers for a second: poll.
	var st int
	var body []byte
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if st, body = s.call("GET", "/readyz", ""); st != 200 || time.Now().After(deadline) {
			break
		}
	}
	wantErrorBody(t, st, body, 503, 500000)
	if !strings.Contains(string(body), "store") {
		t.Fatalf("the 503 must name the store: %s", body)
	}
	if st, _ := s.call("GET", "/healthz", ""); st != 200 {
		t.Fatalf("healthz while the store is stuck: %d", st)
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, body := s.call("GET", "/readyz", "")
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the lock went: %d %s", st, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReady polls /readyz until it answers 200. A server may rightly answer
// 503 for a moment after it starts listening (state loading, listeners
// starting), and its store probe may take longer than the probe's 2 s wait
// when a loaded CI machine stalls an fsync; a node that never becomes ready
// still fails the test.
func waitReady(t *testing.T, s *server, when string) {
	t.Helper()
	within(t, 15*time.Second, "readyz "+when, func() bool {
		st, _ := s.call("GET", "/readyz", "")
		return st == 200
	})
}
