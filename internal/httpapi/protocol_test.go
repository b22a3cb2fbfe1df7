package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// raw sends a request with exactly the given header lines (repeated names
// included), which e.do cannot.
func (e *env) raw(method, path, body string, header [][2]string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range header {
		req.Header.Add(h[0], h[1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// TestServerToServerRoutesNoCORS: /admin/v1 and the auth-token endpoints
// answered with Access-Control-Allow-Origin: *, so a web page could call
// them, and a server key pasted into a web app worked. They get no CORS
// headers, and a server key sent with a browser Origin is refused unless
// the operator allows that origin.
func TestServerToServerRoutesNoCORS(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	const origin = "https://app.example"
	body := `{"userId":"alice"}`
	tokenReq := [][2]string{{"x-server-key", a.ServerKey}, {"Content-Type", "application/json"}, {"Origin", origin}}

	r := e.raw("POST", "/api/v4/authentication/token", body, tokenReq)
	r.wantError(t, 403, 400300)
	for _, path := range []string{"/api/v4/authentication/token", "/api/v3/authentication/token?userId=alice"} {
		method := "POST"
		if strings.Contains(path, "?") {
			method = "GET"
		}
		if r := e.raw(method, path, body, tokenReq); r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s from a browser: %d, ACAO %q", method, path, r.status, r.header.Get("Access-Control-Allow-Origin"))
		}
	}
	// From a server (no Origin) it works.
	if r := e.raw("POST", "/api/v4/authentication/token", body, tokenReq[:2]); r.status != 200 {
		t.Fatalf("auth token without Origin: %d %s", r.status, r.body)
	}
	// The admin API answers its caller but gives browsers nothing to read.
	r = e.raw("GET", "/admin/v1/apps", "", [][2]string{{"Authorization", "Bearer " + adminToken}, {"Origin", origin}})
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("admin with Origin: %d, ACAO %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	// Preflights: refused (no allow headers) for server-to-server routes,
	// allowed for the client API the SDKs call from browsers.
	preflight := func(path string) http.Header {
		return e.raw("OPTIONS", path, "", [][2]string{{"Origin", origin}, {"Access-Control-Request-Method", "POST"},
			{"Access-Control-Request-Headers", "x-server-key"}}).header
	}
	for _, path := range []string{"/api/v4/authentication/token", "/admin/v1/apps", "/api/v2/users/ban"} {
		if h := preflight(path); h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Headers") != "" {
			t.Errorf("preflight of %s allowed: %v", path, h)
		}
	}
	if h := preflight("/api/v5/sessions"); h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight of the login refused: %v", h)
	}
	if r := e.raw("GET", "/api/v3/sessions", "", [][2]string{{"Origin", origin}}); r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("client API lost its CORS header: %v", r.header)
	}
}

// TestServerKeyOriginsAllowed: an operator whose back office calls the
// auth-token endpoint from a page can allow that origin, and only it.
func TestServerKeyOriginsAllowed(t *testing.T) {
	e := startEnv(t, &env{keyOrigins: []string{"https://backoffice.example"}})
	a := e.newApp()
	hdr := func(origin string) [][2]string {
		return [][2]string{{"x-server-key", a.ServerKey}, {"Content-Type", "application/json"}, {"Origin", origin}}
	}
	r := e.raw("POST", "/api/v4/authentication/token", `{"userId":"alice"}`, hdr("https://backoffice.example"))
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://backoffice.example" {
		t.Fatalf("allowed origin: %d %s, ACAO %q", r.status, r.body, r.header.Get("Access-Control-Allow-Origin"))
	}
	e.raw("POST", "/api/v4/authentication/token", `{"userId":"alice"}`, hdr("https://evil.example")).wantError(t, 403, 400300)
}

// TestDuplicateCredentialHeaders: with two Authorization headers the first
// was used silently (a proxy in front may have checked the other). Any
// credential header sent twice is a bad request.
func TestDuplicateCredentialHeaders(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	tok := e.login(a, "alice", "d1").AccessToken
	e.raw("GET", "/api/v3/sessions", "", [][2]string{{"Authorization", "Bearer " + tok}, {"Authorization", "Bearer other"}}).wantError(t, 400, 400000)
	e.raw("GET", "/api/v3/sessions", "", [][2]string{{"Authorization", "Bearer " + tok}, {"Authorization", "Bearer " + tok}}).wantError(t, 400, 400000)
	login := `{"userId":"alice","deviceId":"d1"}`
	e.raw("POST", "/api/v5/sessions", login, [][2]string{{"X-API-Key", a.APIKey}, {"X-API-Key", "other"}, {"Content-Type", "application/json"}}).wantError(t, 400, 400000)
	e.raw("POST", "/api/v4/authentication/token", `{"userId":"alice"}`, [][2]string{{"x-server-key", a.ServerKey}, {"x-server-key", a.ServerKey}}).wantError(t, 400, 400000)
	e.raw("GET", "/admin/v1/apps", "", [][2]string{{"x-admin-token", adminToken}, {"x-admin-token", "x"}}).wantError(t, 400, 400000)
	// Once is fine.
	if r := e.raw("GET", "/api/v3/sessions", "", [][2]string{{"Authorization", "Bearer " + tok}}); r.status != 200 {
		t.Fatalf("one header: %d %s", r.status, r.body)
	}
}

// TestMalformedUnicodeIDs: encoding/json turns invalid UTF-8 and lone
// surrogate escapes into U+FFFD, so "x\ud800", "x\udfff" and "x\xff" all
// logged in as the same user "x\ufffd". They are refused; the replacement
// character itself, and proper surrogate pairs, are fine.
func TestMalformedUnicodeIDs(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	login := func(body string) resp {
		return e.raw("POST", "/api/v5/sessions", body, [][2]string{{"X-API-Key", a.APIKey}, {"Content-Type", "application/json"}})
	}
	for name, body := range map[string]string{
		"lone high surrogate in userId": `{"userId":"x\ud800","deviceId":"d1"}`,
		"lone low surrogate in userId":  `{"userId":"x\udfff","deviceId":"d1"}`,
		"reversed pair in userId":       `{"userId":"x\ude00\ud83d","deviceId":"d1"}`,
		"high surrogate then letter":    `{"userId":"x\ud800\u0041","deviceId":"d1"}`,
		"invalid UTF-8 in userId":       "{\"userId\":\"x\xff\",\"deviceId\":\"d1\"}",
		"lone surrogate in deviceId":    `{"userId":"bob","deviceId":"d\udbff"}`,
		"invalid UTF-8 in deviceId":     "{\"userId\":\"bob\",\"deviceId\":\"d\xc3\"}",
		"lone surrogate in displayName": `{"userId":"bob","deviceId":"d1","displayName":"B\ud800"}`,
		"invalid UTF-8 in displayName":  "{\"userId\":\"bob\",\"deviceId\":\"d1\",\"displayName\":\"B\xed\xa0\x80\"}",
	} {
		t.Run(name, func(t *testing.T) { login(body).wantError(t, 400, 400000) })
	}
	for name, body := range map[string]string{
		"replacement character, escaped": `{"userId":"x\ufffd","deviceId":"d1"}`,
		"replacement character, raw":     "{\"userId\":\"y\xef\xbf\xbd\",\"deviceId\":\"d1\"}",
		"surrogate pair":                 `{"userId":"\ud83d\ude00","deviceId":"d1","displayName":"\ud83d\ude00"}`,
		"lone surrogate in deviceInfo":   `{"userId":"carol","deviceId":"d1","deviceInfo":{"model":"\ud800"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if r := login(body); r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}
