package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/wire"
)

// FuzzClientAPI sends arbitrary bodies and tokens to the login (signed-in,
// visitor in secure mode, bot), validation and logout routes: whatever comes in, the answer is a 2xx or a 4xx with
// the social.plus error envelope — never a panic, a 5xx or a hang.
func FuzzClientAPI(f *testing.F) {
	logLevel = slog.LevelWarn
	e := newEnv(f)
	a := e.newApp()
	good := e.login(a, "fuzz", "d0").AccessToken
	e.setVisitors(a, map[string]any{"visitors": "secure", "bots": true})
	e.visitorSecret(a)
	h := e.srv.Config.Handler
	for _, s := range []string{
		`{"userId":"u","deviceId":"d"}`, `{"userId":1}`, `{"userId":"u","deviceId":"d","displayName":null}`, `[]`, `null`, `{`,
		`{"userId":"u","deviceId":"d","deviceInfo":"web"}`, `{"userId":"\u0000","deviceId":"d"}`, strings.Repeat("[", 10000),
		`{"userId":"u","deviceId":"d","authToken":"` + strings.Repeat("a", 42) + `"}`, good, good + "x", "a.b.c", "",
		`{"deviceId":"d","authSignature":"` + strings.Repeat("0", 64) + `","authSignatureExpiresAt":"2030-01-01T00:00:00.000Z"}`,
		`{"deviceId":"d","authSignature":7,"authSignatureExpiresAt":"x"}`, `{"deviceId":"d","authSignatureExpiresAt":"` + strings.Repeat("9", 70) + `"}`,
	} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, body, tok string) {
		for _, req := range []*http.Request{
			httptest.NewRequest("POST", "/api/v5/sessions", strings.NewReader(body)),
			httptest.NewRequest("POST", "/api/v3/sessions", strings.NewReader(body)),
			httptest.NewRequest("POST", "/api/v5/sessions/visitor", strings.NewReader(body)),
			httptest.NewRequest("POST", "/api/v5/sessions/bot", strings.NewReader(body)),
			httptest.NewRequest("GET", "/api/v3/sessions", nil),
			httptest.NewRequest("GET", "/api/v3/users/me", nil),
			httptest.NewRequest("DELETE", "/api/v4/sessions", strings.NewReader(body)),
			httptest.NewRequest("POST", "/api/v4/authentication/token", strings.NewReader(body)),
		} {
			req.Header.Set("X-API-Key", a.APIKey)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("x-server-key", tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %s → %d %s", req.Method, req.URL.Path, w.Code, w.Body)
			}
			if w.Code >= 400 {
				var env wire.Error
				if json.Unmarshal(w.Body.Bytes(), &env) != nil || env.Status != "error" || env.Code == 0 {
					t.Fatalf("%s %s → %d without the error envelope: %s", req.Method, req.URL.Path, w.Code, w.Body)
				}
			}
		}
	})
}
