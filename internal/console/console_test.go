package console_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// Every page and every action is refused without a session: pages redirect
// to the sign-in page, actions get 401 and change nothing.
func TestEveryPageNeedsASession(t *testing.T) {
	e := newEnv(t)
	appID, key := e.app("demo")
	e.loginUser(key, `{"userId":"alice","deviceId":"d1"}`)
	b := e.browser()
	for _, path := range []string{"/console/", "/console/apps", "/console/apps/" + appID, "/console/apps/" + appID + "/keys",
		"/console/apps/" + appID + "/users", "/console/apps/" + appID + "/users/alice", "/console/signing-keys", "/console/audit",
		"/console/admins", "/console/account"} {
		p := b.get(path)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/login" {
			t.Errorf("GET %s without a session: %d %s", path, p.status, p.header.Get("Location"))
		}
	}
	for _, path := range []string{"/console/apps", "/console/apps/" + appID + "/settings", "/console/apps/" + appID + "/server-keys",
		"/console/apps/" + appID + "/users/alice/ban", "/console/apps/" + appID + "/users/alice/delete", "/console/signing-keys/rotate",
		"/console/admins", "/console/account/tokens", "/console/logout"} {
		p := b.do("POST", path, url.Values{"csrf": {"x"}, "name": {"x"}, "confirm": {"alice"}, "secureMode": {"on"}})
		if p.status != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d", path, p.status)
		}
	}
	if u, _ := e.svc.User(context.Background(), appID, "alice"); u.Banned || u.Deleted {
		t.Fatal("an action without a session changed the user")
	}
	if a, _ := e.svc.App(context.Background(), appID); a.SecureMode {
		t.Fatal("an action without a session changed the app")
	}
	// A made-up cookie is no session either.
	b.c.Jar.SetCookies(mustURL(e.srv.URL+"/console/"), []*http.Cookie{{Name: "gatehouse_console", Value: strings.Repeat("ab", 32), Path: "/console/"}})
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("made-up cookie: %d", p.status)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

// State changes need the session's anti-CSRF token and no foreign Origin.
func TestCSRFRefused(t *testing.T) {
	e := newEnv(t)
	appID, key := e.app("demo")
	e.loginUser(key, `{"userId":"alice","deviceId":"d1"}`)
	pw := e.admin("ann", gatehouse.RoleAdmin)
	b := e.browser()
	csrf := b.mustSignIn("ann", pw)
	ban := "/console/apps/" + appID + "/users/alice/ban"
	for name, form := range map[string]url.Values{"no token": {}, "wrong token": {"csrf": {strings.Repeat("0", 64)}}} {
		if p := b.do("POST", ban, form); p.status != http.StatusForbidden {
			t.Errorf("%s: %d", name, p.status)
		}
	}
	b.hdr.Set("Origin", "https://evil.example")
	if p := b.do("POST", ban, url.Values{"csrf": {csrf}}); p.status != http.StatusForbidden {
		t.Errorf("foreign origin with the right token: %d", p.status)
	}
	if u, _ := e.svc.User(context.Background(), appID, "alice"); u.Banned {
		t.Fatal("a refused request banned the user")
	}
	b.hdr.Set("Origin", e.srv.URL)
	if p := b.do("POST", ban, url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("ban with the token: %d %s", p.status, p.body)
	}
	if u, _ := e.svc.User(context.Background(), appID, "alice"); !u.Banned {
		t.Fatal("the ban did not happen")
	}
	// The sign-in form has its own token: a cross-site sign-in is refused.
	b2 := e.browser()
	if p := b2.do("POST", "/console/login", url.Values{"name": {"ann"}, "password": {pw}}); p.status != http.StatusForbidden || b2.cookie("gatehouse_console") != nil {
		t.Fatalf("sign-in without the form token: %d", p.status)
	}
}

// The session cookie is HttpOnly, SameSite=Strict and scoped to /console/;
// Secure when a trusted proxy says https (and not when anyone else says
// so). Every page carries the security headers.
func TestCookieAndHeaders(t *testing.T) {
	e := newEnv(t, envOptions{proxies: ratelimit.Proxies{}})
	pw := e.admin("ann", gatehouse.RoleOwner)
	b := e.browser()
	b.hdr.Set("X-Forwarded-Proto", "https") // from an untrusted peer: ignored
	pre := find(t, preRe, b.get("/console/login").body)
	p := b.do("POST", "/console/login", url.Values{"pre": {pre}, "name": {"ann"}, "password": {pw}})
	var sc string
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "gatehouse_console=") && !strings.Contains(c, "Max-Age=0") {
			sc = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("cookie Secure on plain http from an untrusted X-Forwarded-Proto: %q", sc)
	}
	h := b.get("/console/").header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", h)
	}

	// Behind a trusted proxy that says https, the cookie is Secure.
	proxied := newEnv(t, envOptions{proxies: ratelimit.Proxies{mustPrefix("127.0.0.0/8"), mustPrefix("::1/128")}})
	pw = proxied.admin("ann", gatehouse.RoleOwner)
	b = proxied.browser()
	b.hdr.Set("X-Forwarded-Proto", "https")
	pre = find(t, preRe, b.get("/console/login").body)
	p = b.do("POST", "/console/login", url.Values{"pre": {pre}, "name": {"ann"}, "password": {pw}})
	if c := strings.Join(p.header.Values("Set-Cookie"), "\n"); !strings.Contains(c, "gatehouse_console=") || !strings.Contains(c, "Secure") {
		t.Fatalf("cookie behind a trusted https proxy: %q", c)
	}
	// A proxy that rewrites Host names the site in X-Forwarded-Host: the
	// Origin check compares with that, from a trusted proxy only.
	csrf := find(t, csrfRe, b.get("/console/").body)
	b.hdr.Set("X-Forwarded-Host", "console.example")
	b.hdr.Set("Origin", "https://console.example")
	if p := b.do("POST", "/console/apps", url.Values{"csrf": {csrf}, "name": {"via proxy"}}); p.status != 200 {
		t.Fatalf("create through a Host-rewriting proxy: %d", p.status)
	}
	b.hdr.Set("Origin", "https://evil.example")
	if p := b.do("POST", "/console/apps", url.Values{"csrf": {csrf}, "name": {"evil"}}); p.status != http.StatusForbidden {
		t.Fatalf("foreign origin through the proxy: %d", p.status)
	}
}

// Ten failed sign-ins lock the name for a while, the right password too,
// with the same answer for a name that does not exist; the lock ends by
// itself. Failures are in the audit log.
func TestLockoutAfterFailures(t *testing.T) {
	e := newEnv(t)
	pw := e.admin("ann", gatehouse.RoleOwner)
	for _, name := range []string{"ann", "ghost"} {
		b := e.browser()
		for i := range 10 {
			if p := b.signIn(name, "wrong password "+name); p.status != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: %d", name, i+1, p.status)
			}
		}
		p := b.signIn(name, pw)
		if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed sign-ins") {
			t.Fatalf("%s after 10 failures: %d", name, p.status)
		}
	}
	e.clock.Advance(16 * time.Minute)
	e.browser().mustSignIn("ann", pw)
	list, _ := e.svc.AuditLog(context.Background(), gatehouse.RootActor("cli"), gatehouse.AuditFilter{Action: "console.signin", Limit: 500})
	var fails, locked, ok int
	for _, x := range list {
		switch {
		case x.Result == "ok":
			ok++
		case x.Detail == "locked":
			locked++
		default:
			fails++
		}
		if x.Addr == "" || strings.Contains(x.Detail+x.Target, pw) {
			t.Fatalf("audit entry %+v", x)
		}
	}
	if fails != 20 || locked != 2 || ok != 1 {
		t.Fatalf("audit: %d failures, %d locked, %d ok", fails, locked, ok)
	}
}

// A session id the browser held before signing in never becomes a session:
// sign-in makes a new one; sign-out ends it on the server.
func TestSessionFixation(t *testing.T) {
	e := newEnv(t)
	pw := e.admin("ann", gatehouse.RoleOwner)
	b := e.browser()
	planted := strings.Repeat("cd", 32)
	b.c.Jar.SetCookies(mustURL(e.srv.URL+"/console/"), []*http.Cookie{{Name: "gatehouse_console", Value: planted, Path: "/console/"}})
	b.mustSignIn("ann", pw)
	got := b.cookie("gatehouse_console")
	if got == nil || got.Value == planted || len(got.Value) != 64 {
		t.Fatalf("session cookie after sign-in: %+v", got)
	}
	// The planted value still gets nowhere.
	other := e.browser()
	other.c.Jar.SetCookies(mustURL(e.srv.URL+"/console/"), []*http.Cookie{{Name: "gatehouse_console", Value: planted, Path: "/console/"}})
	if p := other.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("planted id: %d", p.status)
	}
	// A second sign-in gets yet another id.
	b2 := e.browser()
	b2.mustSignIn("ann", pw)
	if b2.cookie("gatehouse_console").Value == got.Value {
		t.Fatal("two sign-ins share a session id")
	}
	// Sign-out deletes the session on the server: replaying the cookie fails.
	csrf := find(t, csrfRe, b.get("/console/").body)
	if p := b.do("POST", "/console/logout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	replay := e.browser()
	replay.c.Jar.SetCookies(mustURL(e.srv.URL+"/console/"), []*http.Cookie{got})
	if p := replay.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("cookie replayed after sign-out: %d", p.status)
	}
	// Idle timeout.
	e.clock.Advance(session.ConsoleIdle + time.Second)
	if p := b2.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("idle session: %d", p.status)
	}
}

// A display name with markup is shown as text: escaped in the user list and
// on the user's page, never as an element.
func TestDisplayNameShownAsText(t *testing.T) {
	e := newEnv(t)
	appID, key := e.app("demo")
	const evil = `<img src=x onerror=alert(1)>`
	if st := e.loginUser(key, `{"userId":"mallory","displayName":"<img src=x onerror=alert(1)>","deviceId":"d1"}`); st != 200 {
		t.Fatalf("login: %d", st)
	}
	pw := e.admin("ann", gatehouse.RoleViewer)
	b := e.browser()
	b.mustSignIn("ann", pw)
	for _, path := range []string{"/console/apps/" + appID + "/users", "/console/apps/" + appID + "/users?q=img", "/console/apps/" + appID + "/users/mallory"} {
		p := b.get(path)
		if p.status != 200 || strings.Contains(p.body, evil) || !strings.Contains(p.body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Fatalf("%s: %d, raw markup present or escaped text missing", path, p.status)
		}
	}
}

// A viewer sees no action and is refused (403, audited) when it posts one.
func TestViewerCannotChange(t *testing.T) {
	e := newEnv(t)
	appID, key := e.app("demo")
	e.loginUser(key, `{"userId":"alice","deviceId":"d1"}`)
	pw := e.admin("vic", gatehouse.RoleViewer)
	b := e.browser()
	csrf := b.mustSignIn("vic", pw)
	if p := b.get("/console/apps/" + appID + "/users/alice"); strings.Contains(p.body, `id="ban"`) {
		t.Fatal("a viewer is shown the ban button")
	}
	for _, path := range []string{"/console/apps/" + appID + "/users/alice/ban", "/console/apps", "/console/apps/" + appID + "/server-keys", "/console/admins"} {
		if p := b.do("POST", path, url.Values{"csrf": {csrf}, "name": {"x"}, "role": {"owner"}}); p.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", path, p.status)
		}
	}
	if u, _ := e.svc.User(context.Background(), appID, "alice"); u.Banned {
		t.Fatal("a viewer banned a user")
	}
	list, _ := e.svc.AuditLog(context.Background(), gatehouse.RootActor("cli"), gatehouse.AuditFilter{Actor: "vic", Action: "user.ban"})
	if len(list) != 1 || list[0].Result != "forbidden" || list[0].Target != "alice" || list[0].Via != "console" {
		t.Fatalf("audit of the refused ban: %+v", list)
	}
}

func mustPrefix(s string) netip.Prefix {
	p, err := ratelimit.ParseProxies(s)
	if err != nil {
		panic(err)
	}
	return p[0]
}

// The console works the same on the PostgreSQL store: sign in (the session
// stored there), find a user, ban them, and read it in the audit log.
func TestConsoleOnPostgres(t *testing.T) {
	e := newEnv(t, envOptions{postgres: true})
	appID, key := e.app("demo")
	if st := e.loginUser(key, `{"userId":"alice","displayName":"Alice","deviceId":"d1"}`); st != 200 {
		t.Fatalf("login: %d", st)
	}
	pw := e.admin("ann", gatehouse.RoleAdmin)
	b := e.browser()
	csrf := b.mustSignIn("ann", pw)
	if p := b.get("/console/apps/" + appID + "/users?q=ALI"); !strings.Contains(p.body, "1–1 of 1 user") {
		t.Fatalf("search on PostgreSQL: %d", p.status)
	}
	if p := b.do("POST", "/console/apps/"+appID+"/users/alice/ban", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("ban: %d %s", p.status, p.body)
	}
	if st := e.loginUser(key, `{"userId":"alice","deviceId":"d1"}`); st != http.StatusForbidden {
		t.Fatalf("login after the ban: %d", st)
	}
	if p := b.get("/console/audit?action=user.ban"); !strings.Contains(p.body, "user.ban") || !strings.Contains(p.body, ">alice<") {
		t.Fatalf("audit on PostgreSQL lacks the ban")
	}
	if p := b.get("/console/"); p.status != 200 || !strings.Contains(p.body, "Bans per hour") {
		t.Fatalf("dashboard on PostgreSQL: %d", p.status)
	}
}

// The settings form sets the app's allowed origins (and refuses a bad one).
func TestConsoleAllowedOrigins(t *testing.T) {
	e := newEnv(t)
	appID, _ := e.app("demo")
	pw := e.admin("ann", gatehouse.RoleAdmin)
	b := e.browser()
	csrf := b.mustSignIn("ann", pw)
	settings := "/console/apps/" + appID + "/settings"
	if p := b.do("POST", settings, url.Values{"csrf": {csrf}, "allowedOrigins": {"https://app.example\nhttp://localhost:3000"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save origins: %d %s", p.status, p.body)
	}
	if a, _ := e.svc.App(context.Background(), appID); a.Origins != "https://app.example http://localhost:3000" {
		t.Fatalf("stored origins %q", a.Origins)
	}
	if p := b.get("/console/apps/" + appID); !strings.Contains(p.body, "https://app.example\nhttp://localhost:3000") {
		t.Fatal("the settings page does not show the origins")
	}
	if p := b.do("POST", settings, url.Values{"csrf": {csrf}, "allowedOrigins": {"javascript:alert(1)"}}); p.status != http.StatusBadRequest {
		t.Fatalf("bad origin: %d", p.status)
	}
	// The secure-mode button leaves the origins alone.
	b.do("POST", settings, url.Values{"csrf": {csrf}, "secureMode": {"on"}})
	if a, _ := e.svc.App(context.Background(), appID); a.Origins == "" || !a.SecureMode {
		t.Fatalf("after secure mode on: %+v", a)
	}
}
