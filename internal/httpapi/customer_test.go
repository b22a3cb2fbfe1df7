package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// customerSign signs claims as a customer's backend would.
func customerSign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	for k, v := range extra {
		opts = opts.WithHeader(k, v)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

func (e *env) claims(app app, userID string, iat time.Time, ttl time.Duration) map[string]any {
	return map[string]any{
		"user": map[string]any{"userId": userID, "publicUserId": userID, "networkId": app.ID},
		"iat":  iat.Unix(), "exp": iat.Add(ttl).Unix(),
	}
}

func (e *env) addKey(a app, body map[string]any) (string, resp) {
	e.t.Helper()
	r := e.admin("POST", "/apps/"+a.ID+"/access-token-keys", body)
	var k struct{ Key struct{ KeyID string } }
	if r.status == 201 {
		r.json(e.t, &k)
	}
	return k.Key.KeyID, r
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func pemOf(t testing.TB, pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestCustomerTokenKeysRegistration(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	bad := map[string]map[string]any{
		"HS256 secret of 31 bytes": {"alg": "HS256", "secret": strings.Repeat("k", 20) + "abcdefghijk"},
		"HS512 secret of 32 bytes": {"alg": "HS512", "secret": randomSecret()[:32]},
		"low-entropy secret":       {"alg": "HS256", "secret": strings.Repeat("ab", 32)},
		"password-like secret":     {"alg": "HS256", "secret": "password123password123password123"},
		"none":                     {"alg": "none", "secret": randomSecret()},
		"RSA key for HS256":        {"alg": "HS256", "publicKey": pemOf(t, &rsaKey.PublicKey)},
		"EC key for RS256":         {"alg": "RS256", "publicKey": pemOf(t, &ecKey.PublicKey)},
		"P-384 for ES256":          {"alg": "ES256", "publicKey": pemOf(t, &ec384.PublicKey)},
		"1024-bit RSA":             {"alg": "RS256", "publicKey": pemOf(t, &smallRSA.PublicKey)},
		"private key PEM":          {"alg": "RS256", "publicKey": privPEM},
		"two materials":            {"alg": "HS256", "secret": randomSecret(), "jwksUrl": "https://idp.example/jwks"},
		"nothing":                  {"alg": "HS256"},
		"JWKS for HMAC":            {"alg": "HS256", "jwksUrl": "https://idp.example/jwks"},
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			_, r := e.addKey(a, body)
			r.wantError(t, 400, 400000)
		})
	}
	if r := e.admin("GET", "/apps/"+a.ID+"/access-token-keys", nil); !strings.Contains(string(r.body), `"keys":[]`) {
		t.Fatalf("a refused key was stored: %s", r.body)
	}
	secret := randomSecret()
	id, r := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	if r.status != 201 || strings.Contains(string(r.body), secret) {
		t.Fatalf("register HMAC: %d %s", r.status, r.body)
	}
	list := e.admin("GET", "/apps/"+a.ID+"/access-token-keys", nil)
	if !strings.Contains(string(list.body), id) || strings.Contains(string(list.body), secret) {
		t.Fatalf("list: %s", list.body)
	}
	// The secret is stored sealed: not in the database file.
	e.stop()
	if db := readFile(t, e.dbPath) + readFile(t, e.dbPath+"-wal"); strings.Contains(db, secret) {
		t.Fatal("HMAC secret stored in clear")
	}
	e.start()
}

// TestCustomerTokens: the ★ cases of SECURITY.md A.1/A.2 for tokens the
// customer's backend signs, each with its own crafted token.
func TestCustomerTokens(t *testing.T) {
	e := newEnv(t)
	a, b := e.newApp(), e.newApp()
	secret := randomSecret()
	hmacID, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPEM := pemOf(t, &rsaKey.PublicKey)
	rsaID, _ := e.addKey(b, map[string]any{"alg": "RS256", "publicKey": rsaPEM})
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecID, _ := e.addKey(b, map[string]any{"alg": "ES256", "publicKey": pemOf(t, &ecKey.PublicKey)})
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: edKey.Public(), KeyID: "ed-1", Algorithm: "EdDSA"})
	if _, r := e.addKey(b, map[string]any{"alg": "EdDSA", "publicKey": json.RawMessage(jwk)}); r.status != 201 {
		t.Fatalf("JWK key: %d %s", r.status, r.body)
	}
	now := e.clock.Now()
	hs := func(c map[string]any) string { return customerSign(t, jose.HS256, []byte(secret), hmacID, c, nil) }

	good := hs(e.claims(a, "cust-1", now, time.Hour))
	e.wantValid(good)
	r := e.do("GET", "/api/v3/users/cust-1", nil, "Authorization", "Bearer "+good)
	if r.status != 200 || !strings.Contains(string(r.body), `"userId":"cust-1"`) {
		t.Fatalf("user created on first use: %d %s", r.status, r.body)
	}
	for name, tok := range map[string]string{
		"RS256":       customerSign(t, jose.RS256, rsaKey, rsaID, e.claims(b, "cust-2", now, time.Hour), nil),
		"ES256":       customerSign(t, jose.ES256, ecKey, ecID, e.claims(b, "cust-3", now, time.Hour), nil),
		"EdDSA":       customerSign(t, jose.EdDSA, edKey, "ed-1", e.claims(b, "cust-4", now, time.Hour), nil),
		"no kid":      customerSign(t, jose.HS256, []byte(secret), "", e.claims(a, "cust-5", now, time.Hour), nil),
		"userId only": hs(map[string]any{"user": map[string]any{"userId": "cust-6", "networkId": a.ID}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}),
	} {
		t.Run("accepted/"+name, func(t *testing.T) { e.wantValid(tok) })
	}

	parts := strings.Split(good, ".")
	edited := e.claims(a, "someone-else", now, time.Hour)
	noExp := e.claims(a, "cust-1", now, time.Hour)
	delete(noExp, "exp")
	otherSecret := randomSecret()
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	attackerJWK := jose.JSONWebKey{Key: attacker.Public(), Algorithm: "EdDSA"}
	cases := map[string]string{
		"alg none":                     enc(map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		"RS→HS with the RSA PEM":       customerSign(t, jose.HS256, []byte(rsaPEM), rsaID, e.claims(b, "cust-2", now, time.Hour), nil),
		"edited claims":                parts[0] + "." + enc(edited) + "." + parts[2],
		"expired":                      hs(e.claims(a, "cust-1", now.Add(-3*time.Hour), time.Hour)),
		"iat in the future":            hs(e.claims(a, "cust-1", now.Add(10*time.Minute), time.Hour)),
		"missing exp":                  hs(noExp),
		"lifetime over the maximum":    hs(e.claims(a, "cust-1", now, 25*time.Hour)),
		"unknown kid":                  customerSign(t, jose.HS256, []byte(secret), "no-such-kid", e.claims(a, "cust-1", now, time.Hour), nil),
		"kid path traversal":           customerSign(t, jose.HS256, []byte(secret), "../../etc/passwd", e.claims(a, "cust-1", now, time.Hour), nil),
		"other secret":                 customerSign(t, jose.HS256, []byte(otherSecret), hmacID, e.claims(a, "cust-1", now, time.Hour), nil),
		"header-supplied jwk":          customerSign(t, jose.EdDSA, attacker, "", e.claims(b, "cust-4", now, time.Hour), map[jose.HeaderKey]any{"jwk": attackerJWK}),
		"jku header, attacker key":     customerSign(t, jose.EdDSA, attacker, "", e.claims(b, "cust-4", now, time.Hour), map[jose.HeaderKey]any{"jku": "http://127.0.0.1:1/jwks"}),
		"other app's key":              customerSign(t, jose.HS256, []byte(secret), hmacID, e.claims(b, "cust-1", now, time.Hour), nil),
		"no app named":                 hs(map[string]any{"user": map[string]any{"publicUserId": "cust-1"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}),
		"unknown app":                  hs(map[string]any{"user": map[string]any{"publicUserId": "cust-1", "networkId": "nope"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}),
		"no user":                      hs(map[string]any{"user": map[string]any{"networkId": a.ID}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}),
		"fractional exp":               hs(map[string]any{"user": map[string]any{"publicUserId": "cust-1", "networkId": a.ID}, "iat": now.Unix(), "exp": float64(now.Add(time.Hour).Unix()) + 0.5}),
		"string exp":                   hs(map[string]any{"user": map[string]any{"publicUserId": "cust-1", "networkId": a.ID}, "iat": now.Unix(), "exp": "9999999999"}),
		"HS512 header on HS256 key":    customerSign(t, jose.HS512, []byte(secret+secret), hmacID, e.claims(a, "cust-1", now, time.Hour), nil),
		"typ at+jwt (Gatehouse's own)": customerSign(t, jose.HS256, []byte(secret), hmacID, e.claims(a, "cust-1", now, time.Hour), map[jose.HeaderKey]any{"typ": "at+jwt"}),
		"unknown crit":                 customerSign(t, jose.HS256, []byte(secret), hmacID, e.claims(a, "cust-1", now, time.Hour), map[jose.HeaderKey]any{"crit": []string{"exp-ext"}, "exp-ext": 1}),
	}
	for name, tok := range cases {
		t.Run("refused/"+name, func(t *testing.T) {
			e.validate(tok).wantError(t, 401, 400100)
		})
	}

	// Issuer and audience, once the app asks for them.
	e.admin("PATCH", "/apps/"+a.ID, map[string]string{"customerTokenIssuer": "https://backend.example", "customerTokenAudience": "gatehouse"})
	withIss := func(iss, aud string) string {
		c := e.claims(a, "cust-7", now, time.Hour)
		c["iss"], c["aud"] = iss, aud
		return hs(c)
	}
	e.wantValid(withIss("https://backend.example", "gatehouse"))
	e.validate(withIss("https://evil.example", "gatehouse")).wantError(t, 401, 400100)
	e.validate(withIss("https://backend.example", "other")).wantError(t, 401, 400100)
	e.validate(good).wantError(t, 401, 400100) // no iss/aud at all
	e.admin("PATCH", "/apps/"+a.ID, map[string]string{"customerTokenIssuer": "", "customerTokenAudience": ""})

	// Removing the key ends its tokens.
	e.admin("DELETE", "/apps/"+b.ID+"/access-token-keys/"+ecID, nil)
	e.validate(customerSign(t, jose.ES256, ecKey, ecID, e.claims(b, "cust-3", now, time.Hour), nil)).wantError(t, 401, 400100)
}

// TestCustomerTokenRevocation: secure logout, ban and revoke-all apply to
// customer tokens exactly as to Gatehouse's own, across restarts.
func TestCustomerTokenRevocation(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	secret := randomSecret()
	kid, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	sign := func(user string, iat time.Time) string {
		return customerSign(t, jose.HS256, []byte(secret), kid, e.claims(a, user, iat, time.Hour), nil)
	}
	t1 := sign("dora", e.clock.Now())
	t2 := sign("dora", e.clock.Now().Add(-time.Second))
	e.wantValid(t1)
	e.wantValid(t2)
	if r := e.do("DELETE", "/api/v4/sessions", nil, "Authorization", "Bearer "+t1); r.status != 200 {
		t.Fatalf("secure logout: %d %s", r.status, r.body)
	}
	e.validate(t1).wantError(t, 401, 400100)
	e.wantValid(t2) // another token of the same user lives on
	e.restart()
	e.validate(t1).wantError(t, 401, 400100)

	e.admin("POST", "/apps/"+a.ID+"/users/dora/ban", nil)
	e.validate(t2).wantError(t, 403, 400312)
	e.admin("POST", "/apps/"+a.ID+"/users/dora/unban", nil)
	e.validate(t2).wantError(t, 401, 400100) // issued before the ban: stays dead
	e.clock.Advance(2 * time.Second)
	t3 := sign("dora", e.clock.Now())
	e.wantValid(t3)
	e.restart()
	e.validate(t2).wantError(t, 401, 400100)
	e.wantValid(t3)
	e.admin("DELETE", "/apps/"+a.ID+"/users/dora/sessions", nil)
	e.validate(t3).wantError(t, 401, 400100)
}

// TestCustomerTokenJWKS: keys from a JWKS URL, rotation picked up without a
// restart (refetch on an unknown kid, at most once per 30 s).
func TestCustomerTokenJWKS(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	var mu sync.Mutex
	keys := map[string]ed25519.PrivateKey{}
	newKey := func(kid string) {
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		mu.Lock()
		keys[kid] = k
		mu.Unlock()
	}
	newKey("k1")
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var set jose.JSONWebKeySet
		for kid, k := range keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: "EdDSA"})
		}
		json.NewEncoder(w).Encode(set)
	}))
	defer idp.Close()
	if _, r := e.addKey(a, map[string]any{"alg": "EdDSA", "jwksUrl": idp.URL}); r.status != 201 {
		t.Fatalf("register JWKS: %d %s", r.status, r.body)
	}
	sign := func(kid string) string {
		mu.Lock()
		k := keys[kid]
		mu.Unlock()
		return customerSign(t, jose.EdDSA, k, kid, e.claims(a, "jw-1", e.clock.Now(), time.Hour), nil)
	}
	e.wantValid(sign("k1"))
	newKey("k2")
	e.validate(sign("k2")).wantError(t, 401, 400100) // refetch rate-limited
	e.clock.Advance(31 * time.Second)
	e.wantValid(sign("k2"))
}

func TestJWKSPrivateURLRefusedAtRegistration(t *testing.T) {
	e := &env{strictJWKS: true}
	e.t, e.clock, e.logs, e.dbPath = t, testenv.NewClock(time.Now()), &syncBuffer{}, t.TempDir()+"/g.db"
	e.start()
	t.Cleanup(e.stop)
	a := e.newApp()
	for _, u := range []string{"http://127.0.0.1:9/jwks", "https://169.254.169.254/latest/meta-data", "https://10.0.0.1/jwks", "file:///etc/passwd"} {
		_, r := e.addKey(a, map[string]any{"alg": "RS256", "jwksUrl": u})
		r.wantError(t, 400, 400000)
	}
}

// TestReactNativeAccessTokenCalls replays, over a raw TCP connection, the
// exact calls the React Native SDK's loginWithAccessToken makes (wire spec
// §8.2): GET /api/v3/sessions, then GET /api/v3/users/<userId> with the
// user id not URL-encoded.
func TestReactNativeAccessTokenCalls(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	secret := randomSecret()
	kid, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	userID := "jo@example.com+1"
	tok := customerSign(t, jose.HS256, []byte(secret), kid, e.claims(a, userID, e.clock.Now(), time.Hour), nil)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, target := range []string{"/api/v3/sessions", "/api/v3/users/" + userID} {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		req := "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + tok + "\r\nAccept: application/json, text/plain, */*\r\nConnection: close\r\n\r\n"
		c.Write([]byte(req))
		buf := make([]byte, 8192)
		n, _ := readAll(c, buf)
		c.Close()
		resp := string(buf[:n])
		if !strings.HasPrefix(resp, "HTTP/1.1 200") {
			t.Fatalf("%s: %s", target, resp)
		}
		if strings.HasPrefix(target, "/api/v3/users/") && (!strings.Contains(resp, `"userId":"`+userID+`"`) || !strings.Contains(resp, `"isGlobalBanned":false`)) {
			t.Fatalf("user lookup: %s", resp)
		}
	}
}

func readAll(c net.Conn, buf []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
