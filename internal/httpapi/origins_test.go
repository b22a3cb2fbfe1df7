package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// An app's allowed origins limit which browser origins may log in with its
// API key; requests without an Origin (native apps, servers) are not
// affected, and an app without a list allows any origin.
func TestAppAllowedOrigins(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	login := func(origin string) resp {
		h := []string{"X-API-Key", a.APIKey}
		if origin != "" {
			h = append(h, "Origin", origin)
		}
		return e.do("POST", "/api/v5/sessions", map[string]any{"userId": "alice", "deviceId": "d1"}, h...)
	}
	if r := login("https://anything.example"); r.status != 200 {
		t.Fatalf("no list, any origin: %d %s", r.status, r.body)
	}
	r := e.admin("PATCH", "/apps/"+a.ID, map[string]any{"allowedOrigins": []string{"https://app.example", "http://localhost:3000/"}})
	if r.status != 200 || !strings.Contains(string(r.body), `"allowedOrigins":["https://app.example","http://localhost:3000"]`) {
		t.Fatalf("set origins: %d %s", r.status, r.body)
	}
	for origin, want := range map[string]int{"https://app.example": 200, "http://localhost:3000": 200, "": 200, "https://evil.example": 403, "null": 403} {
		if r := login(origin); r.status != want {
			t.Errorf("login from %q: %d %s, want %d", origin, r.status, r.body, want)
		}
	}
	login("https://evil.example").wantError(t, http.StatusForbidden, 400300)
	e.admin("PATCH", "/apps/"+a.ID, map[string]any{"allowedOrigins": []string{"https://app.example/path"}}).wantError(t, http.StatusBadRequest, 400000)
	if r := e.admin("PATCH", "/apps/"+a.ID, map[string]any{"allowedOrigins": []string{}}); r.status != 200 {
		t.Fatalf("clear origins: %d", r.status)
	}
	if r := login("https://evil.example"); r.status != 200 {
		t.Fatalf("after clearing the list: %d", r.status)
	}
	var log struct {
		Entries []struct{ Action, Detail string }
	}
	e.admin("GET", "/audit?action=app.update", nil).json(t, &log)
	if len(log.Entries) < 2 || !strings.Contains(log.Entries[len(log.Entries)-1].Detail, `allowedOrigins="https://app.example http://localhost:3000"`) {
		t.Fatalf("audit of the origin change: %+v", log.Entries)
	}
}
