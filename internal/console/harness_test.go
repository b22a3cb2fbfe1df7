package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/console"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

const rootToken = "gha_4f1c9a7e2b8d06e3a95c1f7b24d8e06a"

// env is a real server: SQLite on a temp file, the session service, the
// client and admin API and the console on one httptest server.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	svc   *session.Service
	db    store.Store
	clock *testenv.Clock
}

type envOptions struct {
	proxies ratelimit.Proxies
	// postgres runs the server on a fresh PostgreSQL database instead of
	// SQLite (internal/pgtest: skipped without one, failed with CI=true).
	postgres bool
}

func newEnv(t testing.TB, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	var db store.Store
	var err error
	if o.postgres {
		db, err = postgres.Open(context.Background(), pgtest.URL(t))
	} else {
		db, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	clock := testenv.NewClock(time.Now().UTC())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := session.New(db, log, session.Config{Now: clock.Now, SealKey: testenv.SealKey})
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetAdminToken(context.Background(), rootToken); err != nil {
		t.Fatal(err)
	}
	act := console.NewActivity(clock.Now)
	lc := ratelimit.DefaultConfig()
	lc.TrustedProxies = o.proxies
	api := httpapi.NewHandler(log, svc, nil, httpapi.Options{Limits: ratelimit.NewLimits(lc, clock.Now), OnLogin: act.Login, OnRefuse: act.Refused})
	web := console.New(log, svc, console.Options{Proxies: o.proxies, Activity: act, Now: clock.Now})
	srv := httptest.NewServer(console.Mount(api, web))
	t.Cleanup(func() { srv.Close(); db.Close() })
	return &env{t: t, srv: srv, svc: svc, db: db, clock: clock}
}

// admin creates an administrator and returns its initial password.
func (e *env) admin(name string, role gatehouse.Role) string {
	e.t.Helper()
	_, pw, err := e.svc.CreateAdmin(context.Background(), gatehouse.RootActor(gatehouse.ViaCLI), name, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return pw.Reveal()
}

// app creates an app and returns its id and API key.
func (e *env) app(name string) (string, string) {
	e.t.Helper()
	a, key, err := e.svc.CreateApp(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID, key.Reveal()
}

// loginUser logs a user in through the client API, as an SDK does.
func (e *env) loginUser(apiKey, body string) int {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v5/sessions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", apiKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	e   *env
	c   *http.Client
	hdr http.Header // added to every request
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, hdr: http.Header{}, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.e.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.hdr {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

var (
	preRe  = regexp.MustCompile(`name="pre" value="([0-9a-f]+)"`)
	csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
)

func find(t testing.TB, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, body)
	}
	return m[1]
}

// signIn signs in with the form, as a browser does, and returns the answer.
func (b *browser) signIn(name, password string) page {
	b.e.t.Helper()
	pre := find(b.e.t, preRe, b.get("/console/login").body)
	return b.do("POST", "/console/login", url.Values{"pre": {pre}, "name": {name}, "password": {password}})
}

// mustSignIn signs in and returns the session's anti-CSRF token.
func (b *browser) mustSignIn(name, password string) string {
	b.e.t.Helper()
	if p := b.signIn(name, password); p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/" {
		b.e.t.Fatalf("sign in: %d %s", p.status, p.body)
	}
	return find(b.e.t, csrfRe, b.get("/console/").body)
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL + "/console/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
