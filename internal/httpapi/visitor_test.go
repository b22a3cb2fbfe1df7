package httpapi_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/wire"
)

func (e *env) setVisitors(a app, settings map[string]any) {
	e.t.Helper()
	if r := e.admin("PATCH", "/apps/"+a.ID, settings); r.status != 200 {
		e.t.Fatalf("visitor settings %v: %d %s", settings, r.status, r.body)
	}
}

func (e *env) visitorRaw(a app, kind string, body any, header ...string) resp {
	e.t.Helper()
	return e.do("POST", "/api/v5/sessions/"+kind, body, append([]string{"X-API-Key", a.APIKey}, header...)...)
}

// visitorLogin logs the device in as a visitor or bot, as the React Native
// SDK does (it spreads its params, so sessionHandler reaches the server).
func (e *env) visitorLogin(a app, kind, device string, extra ...string) wire.Session {
	e.t.Helper()
	body := map[string]any{"deviceId": device, "deviceInfo": map[string]string{"kind": "web", "model": "reactnative#unknown_agent", "sdkVersion": "v7.20.0-cjs"},
		"sessionHandler": map[string]any{}}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	r := e.visitorRaw(a, kind, body, "set-access-token-cookie", "true")
	if r.status != 200 {
		e.t.Fatalf("%s login: %d %s", kind, r.status, r.body)
	}
	var s wire.Session
	r.json(e.t, &s)
	return s
}

func (e *env) visitorSecret(a app) string {
	e.t.Helper()
	r := e.admin("POST", "/apps/"+a.ID+"/visitor-secrets", nil)
	if r.status != http.StatusCreated {
		e.t.Fatalf("visitor secret: %d %s", r.status, r.body)
	}
	var v struct {
		Secret        struct{ SecretID string }
		VisitorSecret string
	}
	r.json(e.t, &v)
	if len(v.VisitorSecret) != 64 || !strings.HasPrefix(v.Secret.SecretID, "vsk_") {
		e.t.Fatalf("visitor secret answer %s", r.body)
	}
	return v.VisitorSecret
}

func TestVisitorAndBotOffByDefault(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	var got struct {
		Visitors string
		Bots     bool
	}
	e.admin("GET", "/apps/"+a.ID, nil).json(t, &got)
	if got.Visitors != "off" || got.Bots {
		t.Fatalf("new app: visitors %q, bots %v; want off, false", got.Visitors, got.Bots)
	}
	dev := map[string]any{"deviceId": "d1"}
	e.visitorRaw(a, "visitor", dev).wantError(t, 403, 400300)
	e.visitorRaw(a, "bot", dev).wantError(t, 403, 400300)
	// Bots on leaves visitors off, and the other way round.
	e.setVisitors(a, map[string]any{"bots": true})
	e.visitorRaw(a, "visitor", dev).wantError(t, 403, 400300)
	e.visitorLogin(a, "bot", "d1")
	e.setVisitors(a, map[string]any{"bots": false, "visitors": "on"})
	e.visitorRaw(a, "bot", dev).wantError(t, 403, 400300)
	e.visitorLogin(a, "visitor", "d1")
	// Settings are checked.
	e.admin("PATCH", "/apps/"+a.ID, map[string]any{"visitors": "maybe"}).wantError(t, 400, 400000)
	e.admin("PATCH", "/apps/"+a.ID, map[string]any{"visitors": ""}).wantError(t, 400, 400000)
}

func TestVisitorLogin(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "on", "bots": true})

	r := e.visitorRaw(a, "visitor", map[string]any{"deviceId": "phone-1", "deviceInfo": map[string]string{"kind": "web"}}, "set-access-token-cookie", "true")
	if r.status != 200 {
		t.Fatalf("visitor login: %d %s", r.status, r.body)
	}
	var s wire.Session
	r.json(t, &s)
	if s.UserType != "visitor" || len(s.Users) != 1 || s.Roles == nil || s.Files == nil || s.RefreshToken != nil || s.LastCachePurge == "" {
		t.Fatalf("visitor session %s", r.body)
	}
	u := s.Users[0]
	if !strings.HasPrefix(u.UserID, "visitor-") || u.DisplayName != "Visitor" || u.Path != wire.UserPath(a.ID, u.InternalID) || strings.Contains(u.UserID, "phone-1") {
		t.Fatalf("visitor user %+v", u)
	}
	if c := r.header.Get("Set-Cookie"); !strings.HasPrefix(c, "_ascSession="+s.AccessToken) || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("set-access-token-cookie: true gave Set-Cookie %q", c)
	}
	iat, _ := time.Parse(time.RFC3339, s.IssuedAt)
	exp, _ := time.Parse(time.RFC3339, s.ExpiresAt)
	if exp.Sub(iat) != gatehouse.DefaultAccessTTL {
		t.Fatalf("visitor token lifetime %v, want the app's %v", exp.Sub(iat), gatehouse.DefaultAccessTTL)
	}
	// userType in the token, for services verifying offline with the JWKS.
	if _, claims := segs(s.AccessToken); claims["userType"] != "visitor" {
		t.Fatalf("token claims %v", claims)
	}
	// And in the validation answer.
	var info wire.TokenInfo
	v := e.validate(s.AccessToken)
	v.json(t, &info)
	if v.status != 200 || info.UserType != "visitor" || info.UserID != u.UserID {
		t.Fatalf("validation %d %s", v.status, v.body)
	}
	// The same device is the same user, with the same session; another
	// device another user.
	again := e.visitorLogin(a, "visitor", "phone-1")
	if again.Users[0].InternalID != u.InternalID {
		t.Fatalf("same device, new user: %s vs %s", again.Users[0].InternalID, u.InternalID)
	}
	e.wantValid(s.AccessToken)
	if other := e.visitorLogin(a, "visitor", "phone-2"); other.Users[0].InternalID == u.InternalID {
		t.Fatal("two devices share a visitor")
	}
	// The visitor is a user like any other for reads.
	g := e.do("GET", "/api/v3/users/me", nil, "Authorization", "Bearer "+again.AccessToken)
	if g.status != 200 || !strings.Contains(string(g.body), u.UserID) {
		t.Fatalf("users/me for a visitor: %d %s", g.status, g.body)
	}
	if g := e.do("GET", "/api/v3/network-settings/chat", nil, "Authorization", "Bearer "+again.AccessToken); g.status != 200 {
		t.Fatalf("chat settings for a visitor: %d %s", g.status, g.body)
	}
	// A bot on the same device is another user, of type bot; like any
	// other user's login on the device, it ends the visitor's session.
	b := e.visitorLogin(a, "bot", "phone-1")
	if b.UserType != "bot" || b.Users[0].InternalID == u.InternalID || !strings.HasPrefix(b.Users[0].UserID, "bot-") {
		t.Fatalf("bot session %+v", b)
	}
	if _, claims := segs(b.AccessToken); claims["userType"] != "bot" {
		t.Fatalf("bot token claims %v", claims)
	}
	e.validate(again.AccessToken).wantError(t, 401, 400100)
	// Signed-in sessions say so, in the answer, the token and validation.
	si := e.login(a, "alice", "laptop")
	if _, claims := segs(si.AccessToken); si.UserType != "signed-in" || claims["userType"] != "signed-in" {
		t.Fatalf("signed-in session %q, claims %v", si.UserType, claims)
	}
	e.validate(si.AccessToken).json(t, &info)
	if info.UserType != "signed-in" {
		t.Fatalf("signed-in validation %+v", info)
	}
}

func TestVisitorLoginRefusals(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "on", "bots": true})
	for _, kind := range []string{"visitor", "bot"} {
		t.Run(kind, func(t *testing.T) {
			e.do("POST", "/api/v5/sessions/"+kind, map[string]any{"deviceId": "d1"}).wantError(t, 401, 400100)
			e.do("POST", "/api/v5/sessions/"+kind, map[string]any{"deviceId": "d1"}, "X-API-Key", strings.Repeat("0", 64)).wantError(t, 401, 400100)
			e.visitorRaw(a, kind, map[string]any{}).wantError(t, 400, 400000)
			e.visitorRaw(a, kind, map[string]any{"deviceId": ""}).wantError(t, 400, 400000)
			e.visitorRaw(a, kind, map[string]any{"deviceId": strings.Repeat("d", 151)}).wantError(t, 400, 400000)
			e.visitorRaw(a, kind, map[string]any{"deviceId": "a\x00b"}).wantError(t, 400, 400000)
			e.visitorRaw(a, kind, map[string]any{"deviceId": 7}).wantError(t, 400, 400000)
			e.visitorRaw(a, kind, "{").wantError(t, 400, 400000)
			// A lone surrogate or invalid UTF-8 would decode to U+FFFD and
			// make several devices one.
			e.visitorRaw(a, kind, `{"deviceId":"a\ud800"}`).wantError(t, 400, 400000)
			e.visitorRaw(a, kind, "{\"deviceId\":\"a\xff\"}").wantError(t, 400, 400000)
			e.visitorLogin(a, kind, strings.Repeat("d", 150))
		})
	}
	// A signed-in user cannot take a visitor's id, nor a visitor a
	// signed-in user's.
	v := e.visitorLogin(a, "visitor", "d9")
	e.loginRaw(a, map[string]any{"userId": v.Users[0].UserID, "deviceId": "x"}).wantError(t, 403, 400300)
	taken := gatehouse.VisitorUserID(gatehouse.Visitor, "d10")
	e.login(a, taken, "laptop")
	e.visitorRaw(a, "visitor", map[string]any{"deviceId": "d10"}).wantError(t, 403, 400300)
}

func TestSecureVisitorMode(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "secure"})
	now := e.clock.Now()
	exp := token.FormatVisitorExpiry(now.Add(10 * time.Minute))
	// No secret yet: nothing verifies.
	sig0 := token.VisitorSignature([]byte(strings.Repeat("a", 64)), "d1", exp)
	e.visitorRaw(a, "visitor", map[string]any{"deviceId": "d1", "authSignature": sig0, "authSignatureExpiresAt": exp}).wantError(t, 401, 400100)

	secret := e.visitorSecret(a)
	sign := func(device, exp string) string { return token.VisitorSignature([]byte(secret), device, exp) }
	body := func(device, sig, exp string) map[string]any {
		return map[string]any{"deviceId": device, "authSignature": sig, "authSignatureExpiresAt": exp}
	}
	cases := []struct {
		name         string
		body         map[string]any
		status, code int
	}{
		{"missing signature", map[string]any{"deviceId": "d1", "authSignatureExpiresAt": exp}, 401, 400100},
		{"missing expiry", map[string]any{"deviceId": "d1", "authSignature": sign("d1", exp)}, 401, 400100},
		{"neither", map[string]any{"deviceId": "d1"}, 401, 400100},
		{"signature too short", body("d1", sign("d1", exp)[:63], exp), 400, 400000},
		{"signature not hex", body("d1", "z"+sign("d1", exp)[1:], exp), 400, 400000},
		{"expiry not a date", body("d1", sign("d1", "tomorrow"), "tomorrow"), 400, 400000},
		{"wrong signature", body("d1", sign("d1", exp)[:60]+"0000", exp), 401, 400100},
		{"signature of another device", body("d2", sign("d1", exp), exp), 401, 400100},
		{"signature of another expiry", body("d1", sign("d1", exp), token.FormatVisitorExpiry(now.Add(11*time.Minute))), 401, 400100},
		{"expired", body("d1", sign("d1", token.FormatVisitorExpiry(now.Add(-time.Second))), token.FormatVisitorExpiry(now.Add(-time.Second))), 401, 400100},
		{"too far ahead", body("d1", sign("d1", token.FormatVisitorExpiry(now.Add(25*time.Hour))), token.FormatVisitorExpiry(now.Add(25*time.Hour))), 400, 400000},
		{"another secret", body("d1", token.VisitorSignature([]byte(strings.Repeat("b", 64)), "d1", exp), exp), 401, 400100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.visitorRaw(a, "visitor", c.body).wantError(t, c.status, c.code)
		})
	}
	ok := e.visitorLogin(a, "visitor", "d1", "authSignature", sign("d1", exp), "authSignatureExpiresAt", exp)
	if ok.UserType != "visitor" {
		t.Fatalf("secure visitor %+v", ok)
	}
	// Upper-case hex and other ISO 8601 spellings sign what they say.
	exp2 := now.Add(time.Hour).UTC().Format(time.RFC3339)
	e.visitorLogin(a, "visitor", "d1", "authSignature", strings.ToUpper(sign("d1", exp2)), "authSignatureExpiresAt", exp2)
	// Up to 24 h ahead is fine.
	exp24 := token.FormatVisitorExpiry(now.Add(24 * time.Hour))
	e.visitorLogin(a, "visitor", "d3", "authSignature", sign("d3", exp24), "authSignatureExpiresAt", exp24)

	// Rotation: two secrets live; a third drops the oldest.
	second := e.visitorSecret(a)
	e.visitorLogin(a, "visitor", "d1", "authSignature", sign("d1", exp), "authSignatureExpiresAt", exp)
	e.visitorLogin(a, "visitor", "d1", "authSignature", token.VisitorSignature([]byte(second), "d1", exp), "authSignatureExpiresAt", exp)
	third := e.visitorSecret(a)
	e.visitorRaw(a, "visitor", body("d1", sign("d1", exp), exp)).wantError(t, 401, 400100)
	e.visitorLogin(a, "visitor", "d1", "authSignature", token.VisitorSignature([]byte(third), "d1", exp), "authSignatureExpiresAt", exp)
	var list struct {
		Secrets []struct{ SecretID string }
	}
	l := e.admin("GET", "/apps/"+a.ID+"/visitor-secrets", nil)
	l.json(t, &list)
	if len(list.Secrets) != 2 || strings.Contains(string(l.body), second) || strings.Contains(string(l.body), third) {
		t.Fatalf("visitor secret list %s", l.body)
	}
	// Deleting one stops it at once; the secrets survive a restart.
	if r := e.admin("DELETE", "/apps/"+a.ID+"/visitor-secrets/"+list.Secrets[0].SecretID, nil); r.status != 200 {
		t.Fatalf("delete visitor secret: %d %s", r.status, r.body)
	}
	e.admin("DELETE", "/apps/"+a.ID+"/visitor-secrets/"+list.Secrets[0].SecretID, nil).wantError(t, 404, 400400)
	e.visitorRaw(a, "visitor", body("d1", token.VisitorSignature([]byte(second), "d1", exp), exp)).wantError(t, 401, 400100)
	e.restart()
	e.visitorLogin(a, "visitor", "d1", "authSignature", token.VisitorSignature([]byte(third), "d1", exp), "authSignatureExpiresAt", exp)
	if strings.Contains(e.logs.String(), third) {
		t.Fatal("a visitor secret reached the log")
	}
	// Secure mode is for visitors only: bots need no signature.
	e.setVisitors(a, map[string]any{"bots": true})
	e.visitorLogin(a, "bot", "crawler")
	// Unknown app.
	e.admin("POST", "/apps/nope/visitor-secrets", nil).wantError(t, 404, 400400)
}

func TestVisitorReadOnly(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "on", "bots": true})
	for _, kind := range []string{"visitor", "bot"} {
		t.Run(kind, func(t *testing.T) {
			s := e.visitorLogin(a, kind, "ro-"+kind)
			bearer := "Bearer " + s.AccessToken
			// Every state-changing route refuses it with 403/400301…
			e.do("DELETE", "/api/v4/sessions?userId=alice", nil, "Authorization", bearer).wantError(t, 403, 400301)
			e.do("DELETE", "/api/v4/sessions", map[string]string{"userId": "alice"}, "Authorization", bearer).wantError(t, 403, 400301)
			e.do("DELETE", "/api/v4/sessions/users/alice", nil, "Authorization", bearer).wantError(t, 403, 400301)
			e.do("POST", "/api/v2/users/ban", map[string]string{"userId": "alice"}, "Authorization", bearer).wantError(t, 403, 400301)
			e.do("POST", "/api/v3/messages", map[string]string{"text": "hi"}, "Authorization", bearer).wantError(t, 403, 400301)
			e.do("PUT", "/api/v3/users/"+s.Users[0].UserID, map[string]string{"displayName": "x"}, "Authorization", bearer).wantError(t, 403, 400301)
			e.do("PATCH", "/api/v1/anything", map[string]string{}, "Authorization", bearer).wantError(t, 403, 400301)
			// …except logins, which the API key authorizes: the official
			// React Native SDK sends the old session's token with them.
			for _, path := range []string{"/api/v3/sessions", "/api/v4/sessions", "/api/v5/sessions"} {
				r := e.do("POST", path, map[string]string{"userId": "carol", "deviceId": "other-" + kind}, "X-API-Key", a.APIKey, "Authorization", bearer)
				if r.status != 200 {
					t.Fatalf("login at %s with a %s token in Authorization: %d %s", path, kind, r.status, r.body)
				}
			}
			for _, k := range []string{"visitor", "bot"} {
				if r := e.visitorRaw(a, k, map[string]any{"deviceId": "other-" + kind}, "Authorization", bearer); r.status != 200 {
					t.Fatalf("%s login with a %s token in Authorization: %d %s", k, kind, r.status, r.body)
				}
			}
			// …reads work, and unknown reads are 404, never 400100…
			e.wantValid(s.AccessToken)
			e.do("GET", "/api/v3/messages", nil, "Authorization", bearer).wantError(t, 404, 400400)
			// …and its own logout works, after which the token is dead.
			if r := e.do("DELETE", "/api/v4/sessions", nil, "Authorization", bearer); r.status != 200 {
				t.Fatalf("own logout: %d %s", r.status, r.body)
			}
			e.validate(s.AccessToken).wantError(t, 401, 400100)
		})
	}
	// A signed-in user's writes are not affected (unknown route: 404).
	si := e.login(a, "alice", "laptop")
	e.do("POST", "/api/v3/messages", map[string]string{"text": "hi"}, "Authorization", "Bearer "+si.AccessToken).wantError(t, 404, 400400)
}

func TestVisitorBanDeleteRevoke(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "on"})
	v := e.visitorLogin(a, "visitor", "d1")
	id := v.Users[0].UserID
	// Revoke-all.
	if r := e.admin("DELETE", "/apps/"+a.ID+"/users/"+id+"/sessions", nil); r.status != 200 {
		t.Fatalf("revoke all: %d %s", r.status, r.body)
	}
	e.validate(v.AccessToken).wantError(t, 401, 400100)
	// Ban: tokens and logins refused; unban lets the device back in.
	v = e.visitorLogin(a, "visitor", "d1")
	if r := e.admin("POST", "/apps/"+a.ID+"/users/"+id+"/ban", nil); r.status != 200 {
		t.Fatalf("ban: %d %s", r.status, r.body)
	}
	e.validate(v.AccessToken).wantError(t, 403, 400312)
	e.visitorRaw(a, "visitor", map[string]any{"deviceId": "d1"}).wantError(t, 403, 400312)
	e.admin("POST", "/apps/"+a.ID+"/users/"+id+"/unban", nil)
	v = e.visitorLogin(a, "visitor", "d1")
	// Delete: the device never gets a visitor again.
	if r := e.admin("DELETE", "/apps/"+a.ID+"/users/"+id, nil); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	e.validate(v.AccessToken).wantError(t, 401, 400100)
	e.visitorRaw(a, "visitor", map[string]any{"deviceId": "d1"}).wantError(t, 403, 400300)
}

func TestVisitorCreationLimit(t *testing.T) {
	cfg := ratelimit.DefaultConfig()
	cfg.NewVisitorPerAddr = ratelimit.Rule{Burst: 2, Per: time.Minute}
	cfg.NewVisitorPerApp = ratelimit.Rule{Burst: 3, Per: time.Minute}
	cfg.TrustedProxies, _ = ratelimit.ParseProxies("127.0.0.1/32")
	var kinds sync.Map
	e := startEnv(t, &env{limits: &cfg, onRefuse: func(k string) { kinds.Store(k, true) }})
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "on", "bots": true})
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
	login := func(kind, device, addr string) resp {
		return e.visitorRaw(a, kind, map[string]any{"deviceId": device, "deviceInfo": map[string]string{"kind": "web"}}, from(addr)...)
	}
	for _, d := range []string{"d1", "d2"} {
		if r := login("visitor", d, "10.0.0.1"); r.status != 200 {
			t.Fatalf("visitor %s: %d %s", d, r.status, r.body)
		}
	}
	// A third new visitor (or bot) from the address: 429 with Retry-After.
	login("visitor", "d3", "10.0.0.1").want429(t, 20)
	login("bot", "d3", "10.0.0.1").want429(t, 20)
	if _, ok := kinds.Load("new_visitor_addr"); !ok {
		t.Fatal("refusal not reported as new_visitor_addr")
	}
	// Returning visitors do not count, through the fast path or the store
	// (a changed device info takes the store's path).
	if r := login("visitor", "d1", "10.0.0.1"); r.status != 200 {
		t.Fatalf("returning visitor: %d %s", r.status, r.body)
	}
	r := e.visitorRaw(a, "visitor", map[string]any{"deviceId": "d2", "deviceInfo": map[string]string{"kind": "web", "model": "new"}}, from("10.0.0.1")...)
	if r.status != 200 {
		t.Fatalf("returning visitor, store path: %d %s", r.status, r.body)
	}
	// The app's budget (3) spans addresses; another app has its own.
	if r := login("visitor", "d4", "10.0.0.2"); r.status != 200 {
		t.Fatalf("first visitor of another address: %d %s", r.status, r.body)
	}
	login("visitor", "d5", "10.0.0.3").want429(t, 1)
	if _, ok := kinds.Load("new_visitor_app"); !ok {
		t.Fatal("refusal not reported as new_visitor_app")
	}
	b := e.newApp()
	e.setVisitors(b, map[string]any{"visitors": "on"})
	if r := e.visitorRaw(b, "visitor", map[string]any{"deviceId": "d5"}, from("10.0.0.3")...); r.status != 200 {
		t.Fatalf("another app: %d %s", r.status, r.body)
	}
	// Refused visitors were not created.
	if r := e.admin("GET", "/apps/"+a.ID+"/users/"+gatehouse.VisitorUserID(gatehouse.Visitor, "d3"), nil); r.status != 404 {
		t.Fatalf("refused visitor was created: %d %s", r.status, r.body)
	}
	// The budgets refill.
	e.clock.Advance(time.Minute)
	if r := login("visitor", "d3", "10.0.0.1"); r.status != 200 {
		t.Fatalf("after a minute: %d %s", r.status, r.body)
	}
	// Wrong API keys count toward the address's back-off like at login.
	for range cfg.FailedCredentials.Burst + 1 {
		e.do("POST", "/api/v5/sessions/visitor", map[string]any{"deviceId": "x"}, "X-API-Key", strings.Repeat("0", 64), "X-Forwarded-For", "10.9.9.9")
	}
	e.visitorRaw(a, "visitor", map[string]any{"deviceId": "x"}, from("10.9.9.9")...).want429(t, 0)
}

func TestVisitorPurge(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "on", "bots": true})
	old := e.visitorLogin(a, "visitor", "d1")
	bot := e.visitorLogin(a, "bot", "d2")
	banned := e.visitorLogin(a, "visitor", "d3")
	e.admin("POST", "/apps/"+a.ID+"/users/"+banned.Users[0].UserID+"/ban", nil)
	e.login(a, "alice", "laptop")
	if got := e.svc.VisitorUsers(); got["visitor"] != 2 || got["bot"] != 1 {
		t.Fatalf("visitor users metric %v, want 2 visitors (one banned) and 1 bot", got)
	}
	exists := func(userID string) bool {
		t.Helper()
		r := e.admin("GET", "/apps/"+a.ID+"/users/"+userID, nil)
		if r.status != 200 && r.status != 404 {
			t.Fatalf("get %s: %d %s", userID, r.status, r.body)
		}
		return r.status == 200
	}
	// Tokens (and the session's slack) expired, but not yet for the
	// retention: kept.
	e.clock.Advance(gatehouse.DefaultAccessTTL + 24*time.Hour + time.Second)
	e.svc.GC(t.Context())
	if !exists(old.Users[0].UserID) || !exists(bot.Users[0].UserID) {
		t.Fatal("visitors purged before their retention")
	}
	// A visitor that came back in the meantime is kept.
	fresh := e.visitorLogin(a, "visitor", "d4")
	e.clock.Advance(gatehouse.DefaultVisitorRetention)
	e.svc.GC(t.Context())
	for _, u := range []wire.User{old.Users[0], bot.Users[0]} {
		if exists(u.UserID) {
			t.Fatalf("%s not purged", u.UserID)
		}
	}
	if !exists(fresh.Users[0].UserID) || !exists(banned.Users[0].UserID) || !exists("alice") {
		t.Fatal("purge took a live visitor, a banned one or a signed-in user")
	}
	if got := e.svc.VisitorUsers(); got["visitor"] != 2 || got["bot"] != 0 {
		t.Fatalf("visitor users metric after the purge %v, want the fresh and the banned visitor", got)
	}
	// The purged device starts over with a new user; the old token is dead
	// (it had expired, and its user is gone).
	again := e.visitorLogin(a, "visitor", "d1")
	if again.Users[0].InternalID == old.Users[0].InternalID || again.Users[0].UserID != old.Users[0].UserID {
		t.Fatalf("after purge: %+v (before %+v)", again.Users[0], old.Users[0])
	}
	e.validate(old.AccessToken).wantError(t, 401, 400100)
}

// TestCustomerTokenCannotBeAVisitor: a customer-signed token names a
// signed-in user; one that names a visitor's id is refused, and the
// visitor's own token still works.
func TestCustomerTokenCannotBeAVisitor(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setVisitors(a, map[string]any{"visitors": "on"})
	v := e.visitorLogin(a, "visitor", "d1")
	secret := randomSecret()
	if _, r := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret}); r.status != 201 {
		t.Fatalf("add key: %d %s", r.status, r.body)
	}
	tok := customerSign(t, jose.HS256, []byte(secret), "", e.claims(a, v.Users[0].UserID, e.clock.Now(), time.Hour), nil)
	e.validate(tok).wantError(t, 401, 400100)
	ok := customerSign(t, jose.HS256, []byte(secret), "", e.claims(a, "erin", e.clock.Now(), time.Hour), nil)
	var info wire.TokenInfo
	r := e.validate(ok)
	r.json(t, &info)
	if r.status != 200 || info.UserType != "signed-in" {
		t.Fatalf("customer token validation: %d %s", r.status, r.body)
	}
	e.wantValid(v.AccessToken)
}
