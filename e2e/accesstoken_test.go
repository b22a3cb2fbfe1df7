package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/client"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// startBackend builds and starts examples/backend against the server.
func startBackend(t *testing.T, s *server, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backend")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/backend").CombinedOutput(); err != nil {
		t.Fatalf("build examples/backend: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-gatehouse", s.URL}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "backend listening on "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return rest
		}
	}
	t.Fatal("backend did not start")
	return ""
}

// fetchToken asks the example backend for a token, as an app would.
func fetchToken(ctx context.Context, backend, path, user, field string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", backend+path, nil)
	req.Header.Set("X-Demo-User", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return "", &gatehouse.Error{Code: gatehouse.Unauthenticated, Message: "backend refused: " + out["error"]}
	}
	return out[field], nil
}

// TestAccessTokenLoginEndToEnd: the example backend signs a token, the Go
// SDK logs in with it, renews through the access-token handler (with an
// injected clock), and secure-logs-out; the revoked token is then refused.
func TestAccessTokenLoginEndToEnd(t *testing.T) {
	s := startServer(t)
	app := s.cliJSON("app", "create", "Access tokens")
	appID, apiKey := app["appId"].(string), app["apiKey"].(string)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("5e1c9a7f30b2d84e6a1f9c3b07d5e28a4c6f1b9e3d70a25c8f4e1b6d9a03c7e2\n"), 0o600)
	key := s.cliJSON("app", "access-token-key", "add", appID, "--alg", "HS256", "--secret-file", secretFile)
	keyID := key["keyId"].(string)
	if list := s.cli("app", "access-token-key", "list", appID); !strings.Contains(list, keyID) {
		t.Fatalf("list: %s", list)
	}
	backend := startBackend(t, s, "-app", appID, "-secret-file", secretFile, "-key-id", keyID)

	ctx := context.Background()
	tok, err := fetchToken(ctx, backend, "/access-token", "erin", "accessToken")
	if err != nil {
		t.Fatal(err)
	}
	clock := testenv.NewClock(time.Now())
	c, err := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: s.URL}, Now: clock.Now, CheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	renewals := 0
	c.SetAccessTokenHandler(client.AccessTokenHandlerFunc(func(ctx context.Context, userID string) (string, error) {
		renewals++
		return fetchToken(ctx, backend, "/access-token", userID, "accessToken")
	}))
	if err := c.LoginWithAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if c.State() != gatehouse.Established || c.UserID() != "erin" {
		t.Fatalf("state %s user %q", c.State(), c.UserID())
	}
	// One-hour tokens: renewal is due after 80% of 55 minutes.
	clock.Advance(50 * time.Minute)
	c.CheckExpiry(ctx)
	renewed, _ := c.Token()
	if renewals != 1 || renewed.AccessToken == tok || c.State() != gatehouse.Established {
		t.Fatalf("renewal: %d handler calls, state %s", renewals, c.State())
	}
	if err := c.SecureLogout(ctx); err != nil {
		t.Fatal(err)
	}
	st, body := s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+renewed.AccessToken)
	wantErrorBody(t, st, body, 401, 400100)
	// The first token, never revoked, still works until it expires.
	if st, _ := s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+tok); st != 200 {
		t.Fatalf("an unrevoked token of the same user: %d", st)
	}
	// Anonymous callers get nothing from the backend.
	if _, err := fetchToken(ctx, backend, "/access-token", "", "accessToken"); err == nil {
		t.Fatal("backend issued a token to nobody")
	}
}

// TestSecureModeBackendEndToEnd: the example backend mints auth tokens with
// the server key; the Go SDK logs in with one in secure mode.
func TestSecureModeBackendEndToEnd(t *testing.T) {
	s := startServer(t)
	app := s.cliJSON("app", "create", "Secure")
	appID, apiKey := app["appId"].(string), app["apiKey"].(string)
	s.cliJSON("app", "secure-mode", appID, "on")
	sk := s.cliJSON("server-key", "create", appID)["serverKey"].(string)
	backend := startBackend(t, s, "-server-key", sk)
	ctx := context.Background()
	authToken, err := fetchToken(ctx, backend, "/auth-token", "fred", "authToken")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(client.Config{APIKey: apiKey, Endpoint: client.Endpoint{HTTP: s.URL}, CheckInterval: -1})
	defer c.Close()
	if err := c.Login(ctx, client.LoginParams{UserID: "fred", AuthToken: authToken}, nil); err != nil {
		t.Fatal(err)
	}
	if c.State() != gatehouse.Established {
		t.Fatalf("state %s", c.State())
	}
}
