package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// cliAs runs a verb with another admin credential and returns stdout and
// the exit code.
func (s *server) cliAs(token string, args ...string) (string, int) {
	s.t.Helper()
	cmd := exec.Command(binary(s.t), args...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_SERVER="+s.URL, "GATEHOUSE_ADMIN_TOKEN="+token)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), ee.ExitCode()
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return stdout.String(), 0
}

// TestCLIAdministrators: administrators and their tokens from the CLI; a
// viewer's token lists but cannot ban (exit 6, 403); the audit log shows
// both calls as made by the CLI.
func TestCLIAdministrators(t *testing.T) {
	s := startServer(t)
	created := s.cliJSON("admin", "create", "vera", "--role", "viewer")
	if created["name"] != "vera" || created["role"] != "viewer" || len(created["password"].(string)) < 20 {
		t.Fatalf("admin create = %v", created)
	}
	tok := s.cliJSON("admin", "token", "create", "vera", "--expires", "720h", "--name", "laptop")
	token, _ := tok["token"].(string)
	if !strings.HasPrefix(token, "ghat_") || tok["name"] != "laptop" || tok["tokenId"] == "" {
		t.Fatalf("admin token create = %v", tok)
	}
	app := s.cliJSON("app", "create", "Demo")
	appID := app["appId"].(string)
	s.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1"}`, "X-API-Key", app["apiKey"].(string))

	if out, code := s.cliAs(token, "app", "list", "--json"); code != 0 || !strings.Contains(out, appID) {
		t.Fatalf("viewer app list: exit %d %s", code, out)
	}
	out, code := s.cliAs(token, "user", "ban", appID, "alice", "--json")
	if code != 6 || !strings.Contains(out, `"httpStatus":403`) {
		t.Fatalf("viewer user ban: exit %d %s, want 6 and 403", code, out)
	}
	list := s.cliJSON("admin", "token", "list", "vera")
	if toks, _ := list["tokens"].([]any); len(toks) != 1 || strings.Contains(toJSON(list), token) {
		t.Fatalf("admin token list = %v", list)
	}
	s.cliJSON("admin", "token", "revoke", "vera", tok["tokenId"].(string))
	if _, code := s.cliAs(token, "app", "list"); code != 4 {
		t.Fatalf("revoked token: exit %d, want 4", code)
	}
	audit := s.cliJSON("audit", "--actor", "vera")
	entries, _ := audit["entries"].([]any)
	if len(entries) != 1 {
		t.Fatalf("audit --actor vera = %v", audit)
	}
	e := entries[0].(map[string]any)
	if e["action"] != "user.ban" || e["result"] != "forbidden" || e["via"] != "cli" || e["appId"] != appID || e["target"] != "alice" {
		t.Fatalf("audit entry = %v", e)
	}
	if strings.Contains(toJSON(s.cliJSON("audit", "--limit", "500")), token) {
		t.Fatal("a token is in the audit log")
	}
}
