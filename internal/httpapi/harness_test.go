package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/jwks"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/wire"
)

const adminToken = "gha_4f1c9a7e2b8d06e3a95c1f7b24d8e06a"

// logLevel is Debug in tests (every request is logged, so log checks see
// everything) and raised by benchmarks.
var logLevel = slog.LevelDebug

// syncBuffer collects logs from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// testSealKey seals HMAC secrets in tests.
var testSealKey = testenv.SealKey

type env struct {
	strictJWKS bool // refuse private JWKS URLs, as in production
	// limits replaces the default rate limits (on, as in production, with
	// the test clock).
	limits *ratelimit.Config
	// onRefuse sees every rate-limit refusal.
	onRefuse func(kind string)
	// keyOrigins are the browser origins allowed to use a server key.
	keyOrigins []string
	t          testing.TB
	srv        *httptest.Server
	clock      *testenv.Clock
	logs       *syncBuffer
	dbPath     string
	db         *sqlite.DB
	svc        *session.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return startEnv(t, &env{})
}

// startEnv starts e, set up with any fields of its own (strictJWKS,
// limits).
func startEnv(t testing.TB, e *env) *env {
	t.Helper()
	e.t, e.clock, e.logs, e.dbPath = t, testenv.NewClock(time.Now().UTC()), &syncBuffer{}, filepath.Join(t.TempDir(), "gatehouse.db")
	e.start()
	t.Cleanup(e.stop)
	return e
}

// start opens the store and serves it; stop then start is a restart.
func (e *env) start() {
	e.t.Helper()
	db, err := sqlite.Open(context.Background(), e.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: logLevel}))
	svc := session.New(db, log, session.Config{Now: e.clock.Now, SealKey: testSealKey,
		KeyFetcher: jwks.New(jwks.Options{AllowPrivate: !e.strictJWKS, Now: e.clock.Now})})
	if err := svc.Load(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	if err := svc.SetAdminToken(context.Background(), adminToken); err != nil {
		e.t.Fatal(err)
	}
	e.db, e.svc = db, svc
	lc := ratelimit.DefaultConfig()
	if e.limits != nil {
		lc = *e.limits
	}
	e.srv = httptest.NewUnstartedServer(httpapi.NewHandler(log, svc, nil,
		httpapi.Options{Limits: ratelimit.NewLimits(lc, e.clock.Now), OnRefuse: e.onRefuse, ServerKeyOrigins: e.keyOrigins}))
	httpapi.Harden(e.srv.Config)
	e.srv.Start()
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.db.Close()
		e.srv = nil
	}
}

func (e *env) restart() { e.stop(); e.start() }

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %q is not JSON: %v", r.status, r.body, err)
	}
}

// wantError checks an error response: HTTP status, social.plus envelope and
// numeric code.
func (r resp) wantError(t testing.TB, status, code int) {
	t.Helper()
	var e wire.Error
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	if r.status != status || e.Status != "error" || e.Code != code || e.Message == "" {
		t.Fatalf("got %d %s, want %d with code %d", r.status, r.body, status, code)
	}
}

func (e *env) do(method, path string, body any, header ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) admin(method, path string, body any) resp {
	e.t.Helper()
	return e.do(method, "/admin/v1"+path, body, "Authorization", "Bearer "+adminToken)
}

type app struct {
	ID, APIKey, ServerKey string
}

func (e *env) newApp() app {
	e.t.Helper()
	r := e.admin("POST", "/apps", map[string]string{"name": "test app"})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create app: %d %s", r.status, r.body)
	}
	var a struct{ AppID, APIKey string }
	r.json(e.t, &a)
	r = e.admin("POST", "/apps/"+a.AppID+"/server-keys", nil)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create server key: %d %s", r.status, r.body)
	}
	var sk struct{ ServerKey string }
	r.json(e.t, &sk)
	return app{ID: a.AppID, APIKey: a.APIKey, ServerKey: sk.ServerKey}
}

func (e *env) setSecure(a app, on bool) {
	e.t.Helper()
	if r := e.admin("PATCH", "/apps/"+a.ID, map[string]bool{"secureMode": on}); r.status != 200 {
		e.t.Fatalf("secure mode: %d %s", r.status, r.body)
	}
}

func (e *env) loginRaw(a app, body any, version ...string) resp {
	v := "v5"
	if len(version) > 0 {
		v = version[0]
	}
	return e.do("POST", "/api/"+v+"/sessions", body, "X-API-Key", a.APIKey)
}

// login logs userID in on deviceID and returns the session response.
func (e *env) login(a app, userID, deviceID string) wire.Session {
	e.t.Helper()
	r := e.loginRaw(a, map[string]any{"userId": userID, "deviceId": deviceID, "deviceInfo": map[string]string{"kind": "web", "sdkVersion": "v6.35.3-cjs"}})
	if r.status != 200 {
		e.t.Fatalf("login %s: %d %s", userID, r.status, r.body)
	}
	var s wire.Session
	r.json(e.t, &s)
	return s
}

func (e *env) authToken(a app, userID string) string {
	e.t.Helper()
	r := e.do("POST", "/api/v4/authentication/token", map[string]string{"userId": userID}, "x-server-key", a.ServerKey)
	if r.status != 200 {
		e.t.Fatalf("auth token: %d %s", r.status, r.body)
	}
	return string(r.body)
}

func (e *env) validate(tok string) resp {
	return e.do("GET", "/api/v3/sessions", nil, "Authorization", "Bearer "+tok)
}

func (e *env) wantValid(tok string) {
	e.t.Helper()
	if r := e.validate(tok); r.status != 200 {
		e.t.Fatalf("token refused: %d %s", r.status, r.body)
	}
}

func readFile(t testing.TB, path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
