package httpapi_test

import (
	"strings"
	"testing"
)

// Issue 8 item 3: deviceInfo was unbounded and kept in memory — 3,000 logins
// with a 65 KB deviceInfo (only the public API key of a non-secure app
// needed) took RSS from 176 to 685 MB and the database from 28 to 229 MB.
// Now a deviceInfo over 4 KiB of JSON is refused with 400/400000, nothing
// stored, and one within the cap (a browser user agent is a few hundred
// bytes) is accepted and listed.
func TestDeviceInfoCapped(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	big := map[string]any{"userId": "alice", "deviceId": "d1",
		"deviceInfo": map[string]string{"kind": "web", "model": strings.Repeat("m", 60_000), "sdkVersion": "v6.35.3-cjs"}}
	r := e.loginRaw(a, big)
	r.wantError(t, 400, 400000)
	if !strings.Contains(string(r.body), "deviceInfo must be at most 4096 bytes of JSON") {
		t.Fatalf("message %s", r.body)
	}
	// Escaping counts: 1,000 control characters are 6,000 bytes of JSON.
	r = e.loginRaw(a, map[string]any{"userId": "alice", "deviceId": "d1",
		"deviceInfo": map[string]string{"kind": "web", "model": strings.Repeat("\x01", 1000)}})
	r.wantError(t, 400, 400000)
	if r := e.admin("GET", "/apps/"+a.ID+"/users/alice", nil); r.status != 404 {
		t.Fatalf("a refused login created the user: %d %s", r.status, r.body)
	}

	ua := "gecko#Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 " + strings.Repeat("x", 3800)
	if r := e.loginRaw(a, map[string]any{"userId": "alice", "deviceId": "d1", "deviceInfo": map[string]string{"kind": "web", "model": ua, "sdkVersion": "v6.35.3-cjs"}}); r.status != 200 {
		t.Fatalf("deviceInfo within the cap refused: %d %s", r.status, r.body)
	}
	if r := e.admin("GET", "/apps/"+a.ID+"/users/alice/sessions", nil); r.status != 200 || !strings.Contains(string(r.body), "Chrome/126") {
		t.Fatalf("sessions: %d %.200s", r.status, r.body)
	}
}
