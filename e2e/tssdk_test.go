package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// requireSDK makes sure the pinned @amityco/ts-sdk is installed (npm ci from
// the lock file) and that Node.js is there. It fails rather than skips: the
// compatibility test is part of the suite.
func requireSDK(t *testing.T) string {
	return requireNodePackage(t, "tssdk", "@amityco/ts-sdk")
}

var npmInstalls sync.Map // directory → *sync.Once

// requireNodePackage fails the test unless Node.js is installed, and runs
// `npm ci` in the e2e directory dir (once per test binary) unless pkg is
// already in its node_modules. It returns dir's absolute path.
func requireNodePackage(t *testing.T, dir, pkg string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: the %s compatibility test needs Node.js 18+", pkg)
	}
	dir, _ = filepath.Abs(dir)
	once, _ := npmInstalls.LoadOrStore(dir, new(sync.Once))
	once.(*sync.Once).Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

type sdkEvent struct {
	Event string `json:"event"`
	State string `json:"state"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Token *struct {
		AccessToken string `json:"accessToken"`
		IssuedAt    string `json:"issuedAt"`
		ExpiresAt   string `json:"expiresAt"`
	} `json:"token"`
}

type sdkRun struct {
	events []sdkEvent
	states []string
}

// last returns the last state the SDK reported to its observers.
func (r sdkRun) last() string {
	if len(r.states) == 0 {
		return ""
	}
	return r.states[len(r.states)-1]
}

func (r sdkRun) find(event string) sdkEvent {
	for _, e := range r.events {
		if e.Event == event {
			return e
		}
	}
	return sdkEvent{}
}

// runSDK runs e2e/tssdk/run.js with the given settings.
func runSDK(t *testing.T, s *server, cfg map[string]any) sdkRun {
	t.Helper()
	dir := requireSDK(t)
	cfg["http"] = s.URL
	cfg["mqtt"] = strings.Replace(s.URL, "http://", "ws://", 1) + "/mqtt"
	arg, _ := json.Marshal(cfg)
	cmd := exec.Command("node", "run.js", string(arg))
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node run.js: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var r sdkRun
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e sdkEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad line from run.js: %q", sc.Text())
		}
		if e.Event == "crash" {
			t.Fatalf("run.js crashed: %s", e.Error)
		}
		r.events = append(r.events, e)
		if e.Event == "state" {
			r.states = append(r.states, e.State)
		}
	}
	return r
}

func newSDKApp(t *testing.T, s *server) (appID, apiKey string) {
	app := s.cliJSON("app", "create", "SDK compat")
	return app["appId"].(string), app["apiKey"].(string)
}

// TestOfficialSDKPlainLoginAndSecureLogout: the official SDK logs in with
// only its endpoint changed, reaches established, secure-logs-out, and the
// old token is then refused with 401/400100.
func TestOfficialSDKPlainLoginAndSecureLogout(t *testing.T) {
	s := startServer(t)
	_, apiKey := newSDKApp(t, s)
	r := runSDK(t, s, map[string]any{"apiKey": apiKey, "userId": "alice-42", "displayName": "Alice", "secureLogout": true})
	login := r.find("login")
	if !login.OK || login.State != "established" || login.Token == nil || login.Token.AccessToken == "" {
		t.Fatalf("login: %+v (states %v)", login, r.states)
	}
	if got := strings.Join(r.states, ","); !strings.HasPrefix(got, "establishing,established") {
		t.Fatalf("states = %s", got)
	}
	if lo := r.find("secureLogout"); !lo.OK || lo.State != "notLoggedIn" {
		t.Fatalf("secureLogout: %+v", lo)
	}
	st, body := s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+login.Token.AccessToken)
	wantErrorBody(t, st, body, 401, 400100)
}

// TestOfficialSDKSecureMode: with secure mode on, the SDK's login needs an
// auth token minted with the server key; without one it fails.
func TestOfficialSDKSecureMode(t *testing.T) {
	s := startServer(t)
	appID, apiKey := newSDKApp(t, s)
	s.cliJSON("app", "secure-mode", appID, "on")
	serverKey := s.cliJSON("server-key", "create", appID)["serverKey"].(string)

	r := runSDK(t, s, map[string]any{"apiKey": apiKey, "userId": "bob"})
	if l := r.find("login"); l.OK || r.last() != "notLoggedIn" || !strings.Contains(l.Error, "400100") {
		t.Fatalf("login without auth token in secure mode: %+v (states %v)", l, r.states)
	}

	st, tok := s.call("POST", "/api/v4/authentication/token", `{"userId":"bob"}`, "x-server-key", serverKey)
	if st != 200 {
		t.Fatalf("auth token: %d %s", st, tok)
	}
	r = runSDK(t, s, map[string]any{"apiKey": apiKey, "userId": "bob", "authToken": string(tok)})
	if l := r.find("login"); !l.OK || l.State != "established" {
		t.Fatalf("secure login: %+v (states %v)", l, r.states)
	}
}

// TestOfficialSDKBannedUser: a banned user's login is refused and the SDK
// ends in notLoggedIn.
func TestOfficialSDKBannedUser(t *testing.T) {
	s := startServer(t)
	appID, apiKey := newSDKApp(t, s)
	if r := runSDK(t, s, map[string]any{"apiKey": apiKey, "userId": "carol"}); !r.find("login").OK {
		t.Fatalf("first login failed: %+v", r.events)
	}
	s.cliJSON("user", "ban", appID, "carol")
	r := runSDK(t, s, map[string]any{"apiKey": apiKey, "userId": "carol"})
	l := r.find("login")
	if l.OK || r.last() != "notLoggedIn" || !strings.Contains(l.Error, "400312") {
		t.Fatalf("banned login: %+v (states %v)", l, r.states)
	}
}
