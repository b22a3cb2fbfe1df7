package httpapi_test

import (
	"strings"
	"testing"
)

// TestSocialPlusBanForm: POST /api/v2/users/ban and /unban, the social.plus
// admin form, with the admin token as Bearer or x-admin-token.
func TestSocialPlusBanForm(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	s := e.login(a, "ivan", "d1")
	e.do("POST", "/api/v2/users/ban", map[string]string{"userId": "ivan"}, "Authorization", "Bearer "+s.AccessToken).wantError(t, 401, 400100)
	e.do("POST", "/api/v2/users/ban", map[string]string{"userId": "ivan"}, "X-API-Key", a.APIKey).wantError(t, 401, 400100)
	if r := e.do("POST", "/api/v2/users/ban", map[string]string{"userId": "ivan"}, "x-admin-token", adminToken); r.status != 200 {
		t.Fatalf("ban: %d %s", r.status, r.body)
	}
	e.validate(s.AccessToken).wantError(t, 403, 400312)
	e.loginRaw(a, map[string]any{"userId": "ivan", "deviceId": "d2"}).wantError(t, 403, 400312)
	if r := e.do("POST", "/api/v2/users/unban", map[string]string{"userId": "ivan"}, "Authorization", "Bearer "+adminToken); r.status != 200 {
		t.Fatalf("unban: %d %s", r.status, r.body)
	}
	e.login(a, "ivan", "d2")
	e.do("POST", "/api/v2/users/ban", map[string]string{"userId": "nobody"}, "x-admin-token", adminToken).wantError(t, 404, 400400)
	// With several apps the app must be named.
	b := e.newApp()
	e.do("POST", "/api/v2/users/ban", map[string]string{"userId": "ivan"}, "x-admin-token", adminToken).wantError(t, 400, 400000)
	if r := e.do("POST", "/api/v2/users/ban?appId="+a.ID, map[string]string{"userId": "ivan"}, "x-admin-token", adminToken); r.status != 200 {
		t.Fatalf("ban with appId: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v2/users/unban", map[string]string{"userId": "ivan"}, "x-admin-token", adminToken, "X-API-Key", a.APIKey); r.status != 200 {
		t.Fatalf("unban with X-API-Key: %d %s", r.status, r.body)
	}
	_ = b
}

// TestSigningKeyRotation: graceful rotation keeps old tokens valid until
// their expiry and signs new ones with the new key; emergency rotation
// kills every earlier token at once. Both survive a restart.
func TestSigningKeyRotation(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	old := e.login(a, "kay", "d1")
	r := e.admin("POST", "/signing-keys/rotate", nil)
	var rot struct{ Key struct{ Kid string } }
	r.json(t, &rot)
	if r.status != 200 || rot.Key.Kid == "" {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	fresh := e.login(a, "kay", "d2")
	hdr, _ := segs(fresh.AccessToken)
	if hdr["kid"] != rot.Key.Kid {
		t.Fatalf("new token signed by %v, want the new key %s", hdr["kid"], rot.Key.Kid)
	}
	e.wantValid(old.AccessToken)
	jwks := e.do("GET", "/.well-known/jwks.json", nil)
	if n := strings.Count(string(jwks.body), `"kid"`); n != 2 {
		t.Fatalf("JWKS after graceful rotation has %d keys: %s", n, jwks.body)
	}
	e.restart()
	e.wantValid(old.AccessToken)
	e.wantValid(fresh.AccessToken)

	r = e.admin("POST", "/signing-keys/rotate", map[string]bool{"emergency": true})
	if r.status != 200 {
		t.Fatalf("emergency rotate: %d %s", r.status, r.body)
	}
	e.validate(old.AccessToken).wantError(t, 401, 400100)
	e.validate(fresh.AccessToken).wantError(t, 401, 400100)
	e.restart()
	e.validate(fresh.AccessToken).wantError(t, 401, 400100)
	e.wantValid(e.login(a, "kay", "d3").AccessToken)
	list := e.admin("GET", "/signing-keys", nil)
	if strings.Count(string(list.body), `"kid"`) != 1 {
		t.Fatalf("keys after emergency rotation: %s", list.body)
	}
}
