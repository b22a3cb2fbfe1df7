package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// createAdminToken creates administrator name with role and returns a token
// of theirs, made with the root token.
func (e *env) adminWithToken(name, role, expires string) string {
	e.t.Helper()
	r := e.admin("POST", "/admins", map[string]string{"name": name, "role": role})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create admin: %d %s", r.status, r.body)
	}
	var created struct {
		Admin    struct{ Name, Role string }
		Password string
	}
	r.json(e.t, &created)
	if created.Admin.Role != role || len(created.Password) < 20 {
		e.t.Fatalf("create admin answered %s", r.body)
	}
	r = e.admin("POST", "/admins/"+name+"/tokens", map[string]string{"name": "ci", "expiresIn": expires})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create token: %d %s", r.status, r.body)
	}
	var tok struct {
		Token string
		Key   struct{ TokenID, ExpiresAt string }
	}
	r.json(e.t, &tok)
	if !strings.HasPrefix(tok.Token, "ghat_") || tok.Key.TokenID == "" {
		e.t.Fatalf("create token answered %s", r.body)
	}
	return tok.Token
}

func (e *env) as(tok, method, path string, body any) resp {
	e.t.Helper()
	return e.do(method, "/admin/v1"+path, body, "Authorization", "Bearer "+tok)
}

// An administrator's token acts with their role: a viewer reads and gets
// 403 on every change; an admin changes apps and users but not
// administrators; the root token keeps working.
func TestAdminTokenRoles(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.login(a, "alice", "d1")
	viewer := e.adminWithToken("vera", "viewer", "")
	admin := e.adminWithToken("adam", "admin", "720h")

	for _, path := range []string{"/apps", "/apps/" + a.ID, "/apps/" + a.ID + "/users/alice", "/apps/" + a.ID + "/users?q=ali", "/audit", "/signing-keys"} {
		if r := e.as(viewer, "GET", path, nil); r.status != 200 {
			t.Errorf("viewer GET %s: %d %s", path, r.status, r.body)
		}
	}
	changes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/apps", map[string]string{"name": "x"}},
		{"PATCH", "/apps/" + a.ID, map[string]bool{"secureMode": true}},
		{"POST", "/apps/" + a.ID + "/server-keys", nil},
		{"POST", "/apps/" + a.ID + "/users/alice/ban", nil},
		{"DELETE", "/apps/" + a.ID + "/users/alice", nil},
		{"DELETE", "/apps/" + a.ID + "/users/alice/sessions", nil},
		{"POST", "/signing-keys/rotate", nil},
		{"POST", "/admins", map[string]string{"name": "eve", "role": "owner"}},
		{"POST", "/admins/vera/tokens", nil},
		{"PATCH", "/admins/vera", map[string]string{"role": "owner"}},
	}
	for _, c := range changes {
		e.as(viewer, c.method, c.path, c.body).wantError(t, http.StatusForbidden, 400300)
	}
	r := e.do("POST", "/api/v2/users/ban?appId="+a.ID, map[string]string{"userId": "alice"}, "Authorization", "Bearer "+viewer)
	r.wantError(t, http.StatusForbidden, 400300)
	if u := e.admin("GET", "/apps/"+a.ID+"/users/alice", nil); !strings.Contains(string(u.body), `"isGlobalBanned":false`) {
		t.Fatalf("a viewer's refused ban changed the user: %s", u.body)
	}

	if r := e.as(admin, "POST", "/apps/"+a.ID+"/users/alice/ban", nil); r.status != 200 {
		t.Fatalf("admin ban: %d %s", r.status, r.body)
	}
	e.as(admin, "POST", "/admins", map[string]string{"name": "eve", "role": "owner"}).wantError(t, http.StatusForbidden, 400300)
	// A token never mints a token, even its own administrator's.
	e.as(admin, "POST", "/admins/adam/tokens", nil).wantError(t, http.StatusForbidden, 400300)
	if r := e.admin("POST", "/apps/"+a.ID+"/users/alice/unban", nil); r.status != 200 {
		t.Fatalf("root unban: %d %s", r.status, r.body)
	}

	// Every change is in the audit log, refusals too, with who and from where.
	var log struct {
		Entries []struct{ Actor, Via, Action, AppID, Target, Result, Addr, Detail string }
	}
	e.admin("GET", "/audit?appId="+a.ID+"&action=user.", nil).json(t, &log)
	var got []string
	for _, x := range log.Entries {
		got = append(got, x.Actor+" "+x.Action+" "+x.Target+" "+x.Result)
		if x.Addr == "" || x.Via != "api" {
			t.Errorf("entry without address or via: %+v", x)
		}
	}
	want := []string{"root user.unban alice ok", "adam user.ban alice ok", "vera user.ban  forbidden", "vera user.delete alice forbidden", "vera user.ban alice forbidden"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("audit log:\n got %q\nwant %q", got, want)
	}
	// No secret in the audit log.
	all := e.admin("GET", "/audit?limit=500", nil)
	for _, secret := range []string{viewer, admin, adminToken, a.APIKey, a.ServerKey} {
		if strings.Contains(string(all.body), secret) {
			t.Fatalf("a secret is in the audit log")
		}
	}
}

// Expired and revoked admin tokens are refused with 401; so is a token
// whose administrator was disabled, and a forged one.
func TestAdminTokenExpiryAndRevocation(t *testing.T) {
	e := newEnv(t)
	short := e.adminWithToken("sam", "admin", "1h")
	if r := e.as(short, "GET", "/apps", nil); r.status != 200 {
		t.Fatalf("fresh token: %d %s", r.status, r.body)
	}
	e.clock.Advance(time.Hour + time.Second)
	e.as(short, "GET", "/apps", nil).wantError(t, http.StatusUnauthorized, 400100)

	tok := e.adminWithToken("rita", "admin", "")
	var list struct {
		Tokens []struct{ TokenID, ExpiresAt string }
	}
	e.admin("GET", "/admins/rita/tokens", nil).json(t, &list)
	if len(list.Tokens) != 1 {
		t.Fatalf("tokens: %+v", list)
	}
	exp, _ := time.Parse(time.RFC3339, list.Tokens[0].ExpiresAt)
	if d := exp.Sub(e.clock.Now()); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Fatalf("default expiry is %v away, want one year", d)
	}
	if r := e.as(tok, "GET", "/apps", nil); r.status != 200 {
		t.Fatalf("token: %d", r.status)
	}
	forged := tok[:len(tok)-4] + "0000"
	if forged == tok {
		forged = tok[:len(tok)-4] + "1111"
	}
	e.as(forged, "GET", "/apps", nil).wantError(t, http.StatusUnauthorized, 400100)
	if r := e.admin("DELETE", "/admins/rita/tokens/"+list.Tokens[0].TokenID, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	e.as(tok, "GET", "/apps", nil).wantError(t, http.StatusUnauthorized, 400100)

	tok2 := e.adminWithToken("dora", "owner", "")
	if r := e.admin("PATCH", "/admins/dora", map[string]bool{"disabled": true}); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	e.as(tok2, "GET", "/apps", nil).wantError(t, http.StatusUnauthorized, 400100)
}
