package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIWalkthrough follows the README's walk-through with the real binary:
// create an app, log in with curl-equivalent calls, turn on secure mode,
// mint an auth token with the server key, ban, list and revoke sessions.
func TestCLIWalkthrough(t *testing.T) {
	s := startServer(t)
	app := s.cliJSON("app", "create", "Demo")
	appID, _ := app["appId"].(string)
	apiKey, _ := app["apiKey"].(string)
	if appID == "" || apiKey == "" || app["networkId"] != appID {
		t.Fatalf("app create --json = %v", app)
	}
	if got := s.cliJSON("app", "set", appID, "--access-token-ttl", "2h"); got["accessTokenTTL"] != "2h0m0s" {
		t.Fatalf("app set = %v", got)
	}
	st, body := s.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1"}`, "X-API-Key", apiKey)
	if st != 200 {
		t.Fatalf("plain login: %d %s", st, body)
	}
	if got := s.cliJSON("app", "secure-mode", appID, "on"); got["secureMode"] != true {
		t.Fatalf("secure-mode on = %v", got)
	}
	st, body = s.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1"}`, "X-API-Key", apiKey)
	wantErrorBody(t, st, body, 401, 400100)

	sk := s.cliJSON("server-key", "create", appID)
	serverKey, _ := sk["serverKey"].(string)
	if len(serverKey) != 64 {
		t.Fatalf("server-key create --json = %v", sk)
	}
	at := s.cliJSON("auth-token", "alice", "--server-key", serverKey)["authToken"].(string)
	st, body = s.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1","authToken":"`+at+`"}`, "X-API-Key", apiKey)
	if st != 200 {
		t.Fatalf("secure login: %d %s", st, body)
	}

	list := s.cliJSON("session", "list", appID, "alice")
	sessions, _ := list["sessions"].([]any)
	if len(sessions) != 1 {
		t.Fatalf("session list = %v", list)
	}
	if got := s.cliJSON("session", "revoke-all", appID, "alice"); got["revoked"] != float64(1) {
		t.Fatalf("session revoke-all = %v", got)
	}
	if got := s.cliJSON("user", "ban", appID, "alice"); !strings.Contains(toJSON(got), `"isGlobalBan":true`) {
		t.Fatalf("user ban = %v", got)
	}
	at = s.cliJSON("auth-token", "alice", "--server-key", serverKey)["authToken"].(string)
	st, body = s.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1","authToken":"`+at+`"}`, "X-API-Key", apiKey)
	wantErrorBody(t, st, body, 403, 400312)
	s.cliJSON("user", "unban", appID, "alice")
	s.cliJSON("user", "delete", appID, "alice")
	rot := s.cliJSON("signing-key", "rotate")
	if kid, _ := rot["kid"].(string); kid == "" {
		t.Fatalf("signing-key rotate = %v", rot)
	}
	if keys, _ := s.cliJSON("signing-key", "list")["keys"].([]any); len(keys) != 2 {
		t.Fatalf("signing-key list after a graceful rotation: %v", keys)
	}
	// Human output works too and never prints the admin token.
	out := s.cli("app", "list")
	if !strings.Contains(out, appID) || strings.Contains(out, adminToken) {
		t.Fatalf("app list = %q", out)
	}
}

// TestGeneratedAdminToken: with no --admin-token on a new store, serve writes
// one to <data>/admin-token with mode 0600 and prints only the path.
func TestGeneratedAdminToken(t *testing.T) {
	data := t.TempDir()
	cmdOut := runServeOnce(t, data)
	path := filepath.Join(data, "admin-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no admin-token file: %v\n%s", err, cmdOut)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token mode %v, want 0600", fi.Mode().Perm())
	}
	tok, _ := os.ReadFile(path)
	if !strings.Contains(cmdOut, path) || strings.Contains(cmdOut, strings.TrimSpace(string(tok))) {
		t.Fatalf("serve output must name the file and not the token: %q", cmdOut)
	}
}
