package console_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

var secretRe = regexp.MustCompile(`id="secret-value">([^<]+)<`)

// The user page's actions: revoke one session, revoke all, unban, and
// delete only with the user id typed.
func TestConsoleUserActions(t *testing.T) {
	e := newEnv(t)
	appID, key := e.app("demo")
	for _, d := range []string{"d1", "d2", "d3"} {
		if st := e.loginUser(key, `{"userId":"alice","deviceId":"`+d+`"}`); st != 200 {
			t.Fatalf("login: %d", st)
		}
	}
	b := e.browser()
	csrf := b.mustSignIn("ann", e.admin("ann", gatehouse.RoleAdmin))
	ctx := context.Background()
	_, list, _ := e.svc.Sessions(ctx, appID, "alice")
	base := "/console/apps/" + appID + "/users/alice"
	if p := b.do("POST", base+"/sessions/"+list[0].ID+"/revoke", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke one: %d %s", p.status, p.body)
	}
	if n, _ := e.svc.LiveSessions(ctx, appID); n != 2 {
		t.Fatalf("live sessions after revoking one: %d", n)
	}
	if p := b.do("POST", base+"/revoke-all", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke all: %d", p.status)
	}
	if n, _ := e.svc.LiveSessions(ctx, appID); n != 0 {
		t.Fatalf("live sessions after revoke-all: %d", n)
	}
	b.do("POST", base+"/ban", url.Values{"csrf": {csrf}})
	if p := b.do("POST", base+"/unban", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("unban: %d", p.status)
	}
	if st := e.loginUser(key, `{"userId":"alice","deviceId":"d1"}`); st != 200 {
		t.Fatalf("login after unban: %d", st)
	}
	for _, wrong := range []string{"", "ALICE", "alice "} {
		if p := b.do("POST", base+"/delete", url.Values{"csrf": {csrf}, "confirm": {wrong}}); p.status != http.StatusBadRequest {
			t.Fatalf("delete confirmed with %q: %d", wrong, p.status)
		}
	}
	if u, _ := e.svc.User(ctx, appID, "alice"); u.Deleted {
		t.Fatal("deleted without the typed confirmation")
	}
	if p := b.do("POST", base+"/delete", url.Values{"csrf": {csrf}, "confirm": {"alice"}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if st := e.loginUser(key, `{"userId":"alice","deviceId":"d1"}`); st != http.StatusForbidden {
		t.Fatalf("login after delete: %d", st)
	}
	entries, _ := e.svc.AuditLog(ctx, gatehouse.RootActor("cli"), gatehouse.AuditFilter{Actor: "ann"})
	var got []string
	for _, x := range entries {
		got = append(got, x.Action+":"+x.Result)
	}
	want := "user.delete:ok user.delete:invalid user.delete:invalid user.delete:invalid user.unban:ok user.ban:ok session.revoke_all:ok session.revoke:ok console.signin:ok"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

// Keys from the console: verification keys (HMAC secret, PEM public key,
// bad input refused), emergency signing-key rotation only when typed.
func TestConsoleKeys(t *testing.T) {
	e := newEnv(t)
	appID, _ := e.app("demo")
	b := e.browser()
	csrf := b.mustSignIn("ann", e.admin("ann", gatehouse.RoleAdmin))
	add := "/console/apps/" + appID + "/access-token-keys"
	secret := make([]byte, 32)
	rand.Read(secret)
	hmacSecret := hex.EncodeToString(secret)
	if p := b.do("POST", add, url.Values{"csrf": {csrf}, "kind": {"hmac"}, "alg": {"HS256"}, "secret": {hmacSecret}}); p.status != http.StatusSeeOther {
		t.Fatalf("add HMAC key: %d %s", p.status, p.body)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if p := b.do("POST", add, url.Values{"csrf": {csrf}, "kind": {"public"}, "alg": {"EdDSA"}, "publicKey": {pemKey}}); p.status != http.StatusSeeOther {
		t.Fatalf("add PEM key: %d %s", p.status, p.body)
	}
	if p := b.do("POST", add, url.Values{"csrf": {csrf}, "kind": {"hmac"}, "alg": {"HS256"}, "secret": {"short"}}); p.status != http.StatusBadRequest {
		t.Fatalf("weak HMAC secret: %d", p.status)
	}
	keys, _ := e.svc.VerificationKeys(context.Background(), appID)
	if len(keys) != 2 {
		t.Fatalf("verification keys: %+v", keys)
	}
	page := b.get("/console/apps/" + appID + "/keys").body
	if strings.Contains(page, hmacSecret) || !strings.Contains(page, keys[0].ID) {
		t.Fatal("the keys page shows the HMAC secret, or not the key id")
	}
	if p := b.do("POST", add+"/"+keys[0].ID+"/remove", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", p.status)
	}
	before, _ := e.svc.SigningKeys(context.Background())
	if p := b.do("POST", "/console/signing-keys/rotate", url.Values{"csrf": {csrf}, "mode": {"emergency"}, "confirm": {"yes"}}); p.status != http.StatusBadRequest {
		t.Fatalf("emergency rotation without the typed words: %d", p.status)
	}
	if p := b.do("POST", "/console/signing-keys/rotate", url.Values{"csrf": {csrf}, "mode": {"graceful"}}); p.status != http.StatusSeeOther {
		t.Fatalf("graceful rotation: %d", p.status)
	}
	if after, _ := e.svc.SigningKeys(context.Background()); len(after) != len(before)+1 {
		t.Fatalf("signing keys %d -> %d", len(before), len(after))
	}
	if p := b.do("POST", "/console/signing-keys/rotate", url.Values{"csrf": {csrf}, "mode": {"emergency"}, "confirm": {"log everyone out"}}); p.status != http.StatusSeeOther {
		t.Fatalf("emergency rotation: %d", p.status)
	}
	if after, _ := e.svc.SigningKeys(context.Background()); len(after) != 1 {
		t.Fatalf("after an emergency rotation %d keys remain", len(after))
	}
}

// The account page: an admin API token made in the console works on the
// admin API with the administrator's role, is shown once, and is revoked
// from the console; a password change signs out the other sessions.
func TestConsoleAccount(t *testing.T) {
	e := newEnv(t)
	pw := e.admin("vic", gatehouse.RoleViewer)
	b := e.browser()
	csrf := b.mustSignIn("vic", pw)
	p := b.do("POST", "/console/account/tokens", url.Values{"csrf": {csrf}, "name": {"laptop"}, "days": {"30"}})
	tok := find(t, secretRe, p.body)
	if p.status != 200 || !strings.HasPrefix(tok, "ghat_") {
		t.Fatalf("token page: %d", p.status)
	}
	api := func(method, path string) int {
		req, _ := http.NewRequest(method, e.srv.URL+"/admin/v1"+path, strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if api("GET", "/apps") != 200 || api("POST", "/apps") != 403 {
		t.Fatal("the viewer's token does not read, or changes")
	}
	if strings.Contains(b.get("/console/account").body, tok) {
		t.Fatal("the account page shows the token again")
	}
	toks, _ := e.svc.AdminTokens(context.Background(), gatehouse.RootActor("cli"), "vic")
	if p := b.do("POST", "/console/account/tokens/"+toks[0].ID+"/revoke", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.status)
	}
	if api("GET", "/apps") != 401 {
		t.Fatal("a revoked token still works")
	}
	other := e.browser()
	other.mustSignIn("vic", pw)
	if p := b.do("POST", "/console/account/password", url.Values{"csrf": {csrf}, "current": {pw}, "new": {"a new long password"}, "repeat": {"a new long password"}}); p.status != http.StatusSeeOther {
		t.Fatalf("change password: %d %s", p.status, p.body)
	}
	if p := other.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatal("another session survived the password change")
	}
	if p := b.get("/console/account"); p.status != 200 {
		t.Fatalf("the session that changed the password ended: %d", p.status)
	}
	if p := e.browser().signIn("vic", pw); p.status != http.StatusUnauthorized {
		t.Fatal("the old password still signs in")
	}
	e.browser().mustSignIn("vic", "a new long password")
}
