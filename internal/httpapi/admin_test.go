package httpapi_test

import "testing"

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
