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

// FuzzClientAPI sends arbitrary bodies and tokens to the login, validation
// and logout routes: whatever comes in, the answer is a 2xx or a 4xx with
// the social.plus error envelope — never a panic, a 5xx or a hang.
func FuzzClientAPI(f *testing.F) {
	logLevel = slog.LevelWarn
	e := newEnv(f)
	a := e.newApp()
	good := e.login(a, "fuzz", "d0").AccessToken
	h := e.srv.Config.Handler
	for _, s := range []string{
		`{"userId":"u","deviceId":"d"}`, `{"userId":1}`, `{"userId":"u","deviceId":"d","displayName":null}`, `[]`, `null`, `{`,
		`{"userId":"u","deviceId":"d","deviceInfo":"web"}`, `{"userId":"\u0000","deviceId":"d"}`, strings.Repeat("[", 10000),
		`{"userId":"u","deviceId":"d","authToken":"` + strings.Repeat("a", 42) + `"}`, good, good + "x", "a.b.c", "",
	} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, body, tok string) {
		for _, req := range []*http.Request{
			httptest.NewRequest("POST", "/api/v5/sessions", strings.NewReader(body)),
			httptest.NewRequest("POST", "/api/v3/sessions", strings.NewReader(body)),
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
