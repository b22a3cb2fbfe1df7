package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the real binary with exactly env (plus PATH and HOME) and
// returns stdout, stderr and the exit code.
func runCLI(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

type cliErr struct {
	Error struct {
		Kind, Message, Hint  string
		ExitCode, HTTPStatus int
		Code                 int
	}
}

func decodeCLIError(t *testing.T, out string) cliErr {
	t.Helper()
	var e cliErr
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Error.Message == "" || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("--json error output %q is not one {\"error\":…} object", out)
	}
	return e
}

// TestCLIOperatorBehaviour drives the real binary as an operator types it:
// per-verb help, suggestions, exit codes, JSON errors, the admin-token
// diagnostics, unknown apps, table output and the create shapes.
func TestCLIOperatorBehaviour(t *testing.T) {
	s := startServer(t)
	env := []string{"GATEHOUSE_SERVER=" + s.URL, "GATEHOUSE_ADMIN_TOKEN=" + adminToken}

	// Help per verb: only that verb's flags, exit 0.
	out, _, code := runCLI(t, nil, "user", "ban", "--help")
	if code != 0 || !strings.Contains(out, "--admin-token-file") || strings.Contains(out, "--alg") || strings.Contains(out, "--emergency") {
		t.Fatalf("user ban --help: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "Exit codes:") || !strings.Contains(out, "serve") {
		t.Fatalf("--help: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "gatehouse ") {
		t.Fatalf("version: exit %d %q", code, out)
	}

	// Usage errors: exit 2, with a suggestion for a mistyped verb.
	_, errOut, code := runCLI(t, env, "app", "crate", "X")
	if code != 2 || !strings.Contains(errOut, `did you mean "create"`) {
		t.Fatalf("app crate: exit %d %q", code, errOut)
	}
	_, errOut, code = runCLI(t, env, "sesion", "list")
	if code != 2 || !strings.Contains(errOut, `"session"`) {
		t.Fatalf("sesion: exit %d %q", code, errOut)
	}
	out, _, code = runCLI(t, env, "user", "ban", "onlyone", "--json")
	if e := decodeCLIError(t, out); code != 2 || e.Error.Kind != "usage" || e.Error.ExitCode != 2 {
		t.Fatalf("wrong arity: exit %d %+v", code, e)
	}
	if _, _, code = runCLI(t, env, "app", "list", "--no-such-flag"); code != 2 {
		t.Fatalf("unknown flag: exit %d", code)
	}

	// Cannot reach the server: exit 3.
	out, _, code = runCLI(t, []string{"GATEHOUSE_ADMIN_TOKEN=" + adminToken}, "app", "list", "--server", "http://127.0.0.1:1", "--json")
	if e := decodeCLIError(t, out); code != 3 || e.Error.Kind != "unreachable" {
		t.Fatalf("unreachable: exit %d %+v", code, e)
	}

	// No admin token vs wrong admin token: both exit 4, told apart.
	empty := t.TempDir()
	_, errOut, code = runCLI(t, []string{"GATEHOUSE_SERVER=" + s.URL, "GATEHOUSE_DATA=" + empty}, "app", "list")
	if code != 4 || !strings.Contains(errOut, "no admin token") || !strings.Contains(errOut, filepath.Join(empty, "admin-token")) || !strings.Contains(errOut, "hint:") {
		t.Fatalf("no admin token: exit %d %q", code, errOut)
	}
	out, _, code = runCLI(t, []string{"GATEHOUSE_SERVER=" + s.URL, "GATEHOUSE_ADMIN_TOKEN=wrong-token-0123456789abcdef"}, "app", "list", "--json")
	if e := decodeCLIError(t, out); code != 4 || !strings.Contains(e.Error.Message, "wrong admin token") || e.Error.HTTPStatus != 401 ||
		strings.Contains(out, "wrong-token-0123456789abcdef") {
		t.Fatalf("wrong admin token: exit %d %s", code, out)
	}
	// The token from a file (flag) and from the data directory.
	tokFile := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tokFile, []byte(adminToken+"\n"), 0o600)
	if _, errOut, code = runCLI(t, []string{"GATEHOUSE_SERVER=" + s.URL}, "app", "list", "--admin-token-file", tokFile); code != 0 {
		t.Fatalf("--admin-token-file: exit %d %s", code, errOut)
	}
	os.WriteFile(filepath.Join(empty, "admin-token"), []byte(adminToken+"\n"), 0o600)
	if _, errOut, code = runCLI(t, []string{"GATEHOUSE_SERVER=" + s.URL}, "app", "list", "--data", empty); code != 0 {
		t.Fatalf("token from --data: exit %d %s", code, errOut)
	}

	// Create commands share one shape: the object flat, its one-time secret
	// beside it, the appId.
	app := s.cliJSON("app", "create", "Ops")
	appID := app["appId"].(string)
	ak := s.cliJSON("api-key", "create", appID, "--name", "second")
	sk := s.cliJSON("server-key", "create", appID)
	for _, c := range []struct {
		m      map[string]any
		secret string
	}{{app, "apiKey"}, {ak, "apiKey"}, {sk, "serverKey"}} {
		sec, _ := c.m[c.secret].(string)
		if len(sec) != 64 || c.m["keyId"] != sec[:16] || c.m["appId"] != appID {
			t.Fatalf("create shape: %v", c.m)
		}
	}

	// A wrong app id is an unknown app (exit 5), not an unknown user.
	out, _, code = runCLI(t, env, "user", "get", "no-such-app", "alice", "--json")
	if e := decodeCLIError(t, out); code != 5 || !strings.Contains(strings.ToLower(e.Error.Message), "app not found") || e.Error.Code != 400400 {
		t.Fatalf("unknown app: exit %d %s", code, out)
	}
	out, _, code = runCLI(t, env, "user", "get", appID, "nobody", "--json")
	if e := decodeCLIError(t, out); code != 5 || !strings.Contains(strings.ToLower(e.Error.Message), "user not found") {
		t.Fatalf("unknown user: exit %d %s", code, out)
	}
	// A refused request: exit 6.
	if _, _, code = runCLI(t, env, "app", "set", appID, "--access-token-ttl", "1s"); code != 6 {
		t.Fatalf("invalid ttl: exit %d", code)
	}

	// auth-token prints the bare token (for $(…)); a wrong server key is 4.
	out, errOut, code = runCLI(t, append(env, "GATEHOUSE_SERVER_KEY="+sk["serverKey"].(string)), "auth-token", "alice")
	if tok := strings.TrimSpace(out); code != 0 || tok == "" || strings.ContainsAny(tok, " :\n") {
		t.Fatalf("auth-token: exit %d %q %s", code, out, errOut)
	}
	if _, errOut, code = runCLI(t, append(env, "GATEHOUSE_SERVER_KEY=nope"), "auth-token", "alice"); code != 4 || !strings.Contains(errOut, "server key") {
		t.Fatalf("bad server key: exit %d %s", code, errOut)
	}

	// Human output: aligned tables, no pseudo-YAML.
	out, _, _ = runCLI(t, env, "app", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "APP ID") || len(lines) < 2 || strings.Contains(out, "- [0]") || strings.Contains(out, "<nil>") {
		t.Fatalf("app list:\n%s", out)
	}
	col := strings.Index(lines[0], "NAME")
	for _, l := range lines[1:] {
		if col < 1 || len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Fatalf("app list columns not aligned:\n%s", out)
		}
	}
	if !strings.Contains(out, "Ops") {
		t.Fatalf("app list:\n%s", out)
	}
}
