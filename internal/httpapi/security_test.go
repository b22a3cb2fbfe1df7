package httpapi_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

var b64 = base64.RawURLEncoding

func segs(tok string) (hdr, payload map[string]any) {
	p := strings.Split(tok, ".")
	h, _ := b64.DecodeString(p[0])
	b, _ := b64.DecodeString(p[1])
	json.Unmarshal(h, &hdr)
	json.Unmarshal(b, &payload)
	return
}

func enc(v any) string {
	if s, ok := v.(string); ok {
		return b64.EncodeToString([]byte(s))
	}
	b, _ := json.Marshal(v)
	return b64.EncodeToString(b)
}

// realKey returns the server's signing key, read from the store, to craft
// tokens that are correctly signed but wrong in another way.
func (e *env) realKey() (string, ed25519.PrivateKey) {
	e.t.Helper()
	keys, err := e.db.SigningKeys(e.t.Context())
	if err != nil || len(keys) == 0 {
		e.t.Fatal(err)
	}
	// The seed is sealed with the seal key (the store alone signs nothing):
	// open it as the session service does.
	seed, ok := bytes.CutPrefix(keys[0].Seed, []byte("gatehouse-sealed-v1:"))
	if !ok {
		e.t.Fatal("the signing key is stored in plain text")
	}
	blk, _ := aes.NewCipher(testSealKey)
	gcm, _ := cipher.NewGCM(blk)
	seed, err = gcm.Open(nil, seed[:12], seed[12:], []byte("gatehouse signing key seed "+keys[0].ID))
	if err != nil {
		e.t.Fatal(err)
	}
	return keys[0].ID, ed25519.NewKeyFromSeed(seed)
}

func signEd(priv ed25519.PrivateKey, hdr, payload any) string {
	in := enc(hdr) + "." + enc(payload)
	return in + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

func signHS(key []byte, hdr, payload any) string {
	in := enc(hdr) + "." + enc(payload)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + b64.EncodeToString(m.Sum(nil))
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var c map[string]any
	json.Unmarshal(b, &c)
	return c
}

// TestForgedTokens covers the token-forgery cases of SECURITY.md A.1: every
// crafted token is refused with 401/400100, and the genuine one still works.
func TestForgedTokens(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	s := e.login(a, "alice", "d1")
	good := s.AccessToken
	hdr, payload := segs(good)
	kid, priv := e.realKey()

	// The public key, as an attacker gets it from the JWKS.
	r := e.do("GET", "/.well-known/jwks.json", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %s %v", r.body, err)
	}
	pub := set.Keys[0].Key.(ed25519.PublicKey)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkJSON, _ := json.Marshal(set.Keys[0])

	parts := strings.Split(good, ".")
	sig, _ := b64.DecodeString(parts[2])
	flipped := append([]byte{}, sig...)
	flipped[0] ^= 1

	edited := clone(payload)
	edited["user"].(map[string]any)["publicUserId"] = "mallory"
	longer := clone(payload)
	longer["exp"] = payload["exp"].(float64) + 86400*365

	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	attackerJWK, _ := json.Marshal(jose.JSONWebKey{Key: attacker.Public(), Algorithm: "EdDSA"})
	var attackerJWKMap map[string]any
	json.Unmarshal(attackerJWK, &attackerJWKMap)

	withHdr := func(k string, v any) map[string]any { h := clone(hdr); h[k] = v; return h }
	withClaim := func(k string, v any) map[string]any { p := clone(payload); p[k] = v; return p }
	now := float64(e.clock.Now().Unix())

	cases := map[string]string{
		"alg none":                     enc(withHdr("alg", "none")) + "." + parts[1] + ".",
		"alg None":                     enc(withHdr("alg", "None")) + "." + parts[1] + ".",
		"alg NONE with signature":      enc(withHdr("alg", "NONE")) + "." + parts[1] + "." + parts[2],
		"HS256 keyed with raw pubkey":  signHS(pub, withHdr("alg", "HS256"), payload),
		"HS256 keyed with PEM":         signHS(pemBytes, withHdr("alg", "HS256"), payload),
		"HS256 keyed with DER":         signHS(der, withHdr("alg", "HS256"), payload),
		"HS256 keyed with JWK JSON":    signHS(jwkJSON, withHdr("alg", "HS256"), payload),
		"edited userId":                parts[0] + "." + enc(edited) + "." + parts[2],
		"edited exp":                   parts[0] + "." + enc(longer) + "." + parts[2],
		"bit-flipped signature":        parts[0] + "." + parts[1] + "." + b64.EncodeToString(flipped),
		"truncated signature":          parts[0] + "." + parts[1] + "." + parts[2][:40],
		"empty signature":              parts[0] + "." + parts[1] + ".",
		"over-long signature":          good + "AAAA",
		"one segment":                  parts[0],
		"two segments":                 parts[0] + "." + parts[1],
		"four segments":                good + ".x",
		"five segments (JWE)":          good + ".x.y",
		"trailing dot":                 good + ".",
		"padded base64":                parts[0] + "." + parts[1] + "==." + parts[2],
		"attacker key in jwk header":   signEd(attacker, withHdr("jwk", attackerJWKMap), payload),
		"attacker key with our kid":    signEd(attacker, hdr, payload),
		"kid path traversal":           signEd(attacker, withHdr("kid", "../../etc/passwd"), payload),
		"kid SQL":                      signEd(attacker, withHdr("kid", "' OR 1=1--"), payload),
		"jku header":                   signEd(attacker, withHdr("jku", "http://127.0.0.1:1/jwks"), payload),
		"unknown crit (real key)":      signEd(priv, withHdr("crit", []string{"exp-ext"}), payload),
		"no typ (real key)":            signEd(priv, map[string]any{"alg": "EdDSA", "kid": kid}, payload),
		"wrong typ (real key)":         signEd(priv, withHdr("typ", "JWT"), payload),
		"wrong issuer (real key)":      signEd(priv, hdr, withClaim("iss", "someone-else")),
		"no exp (real key)":            signEd(priv, hdr, withClaim("exp", nil)),
		"string exp (real key)":        signEd(priv, hdr, withClaim("exp", "9999999999")),
		"fractional exp (real key)":    signEd(priv, hdr, withClaim("exp", now+3600.5)),
		"huge exp (real key)":          signEd(priv, hdr, withClaim("exp", json.RawMessage("1e309"))),
		"negative exp (real key)":      signEd(priv, hdr, withClaim("exp", -1)),
		"future iat (real key)":        signEd(priv, hdr, withClaim("iat", now+3600)),
		"no sid (real key)":            signEd(priv, hdr, withClaim("sid", nil)),
		"user/sub mismatch (real key)": signEd(priv, hdr, withClaim("sub", "000000000000000000000000")),
		"unknown app (real key)":       signEd(priv, hdr, withClaim("aud", "ffffffffffffffffffffffff")),
		"duplicate claim (real key)":   signEd(priv, hdr, strings.Replace(string(mustJSON(payload)), `"iss":`, `"sid":"x","iss":`, 1)),
		"duplicate header (real key)":  signEd(priv, `{"alg":"EdDSA","alg":"none","kid":"`+kid+`","typ":"at+jwt"}`, payload),
		"payload not JSON (real key)":  signEd(priv, hdr, "not json"),
		"trailing bytes (real key)":    signEd(priv, hdr, string(mustJSON(payload))+"x"),
		"auth token as access token":   e.authToken(a, "alice"),
		"API key as access token":      a.APIKey,
		"admin token as access token":  adminToken,
		"server key as access token":   a.ServerKey,
		"bearer with 100k dots":        strings.Repeat(".", 100_000)[:12_000],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			e.validate(tok).wantError(t, 401, 400100)
		})
	}
	// The same checks hold on every authenticated route.
	e.do("GET", "/api/v3/users/alice", nil, "Authorization", "Bearer "+cases["alg none"]).wantError(t, 401, 400100)
	e.do("DELETE", "/api/v4/sessions", nil, "Authorization", "Bearer "+cases["edited userId"]).wantError(t, 401, 400100)
	e.wantValid(good)

	// A token from another Gatehouse deployment (another key ring) is refused.
	other := newEnv(t)
	oa := other.newApp()
	e.validate(other.login(oa, "alice", "d1").AccessToken).wantError(t, 401, 400100)
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// TestJWKSVerifiesTokens: a third party can verify access tokens with the
// published JWKS alone.
func TestJWKSVerifiesTokens(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	s := e.login(a, "alice", "d1")
	r := e.do("GET", "/.well-known/jwks.json", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("JWKS publishes a private key")
		}
	}
	tok, err := jwt.ParseSigned(s.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := tok.Claims(set, &c); err != nil {
		t.Fatalf("token does not verify against the JWKS: %v", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: "gatehouse", AnyAudience: jwt.Audience{a.ID}, Time: e.clock.Now()}, time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestHugeAuthorizationHeader(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v3/sessions", nil, "Authorization", "Bearer "+strings.Repeat("a", 1<<20))
	if r.status != 431 {
		t.Fatalf("1 MB header: %d, want 431", r.status)
	}
}

func TestAdminAuth(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	s := e.login(a, "alice", "d1")
	for name, hdr := range map[string][]string{
		"none":         nil,
		"API key":      {"Authorization", "Bearer " + a.APIKey},
		"API key hdr":  {"X-API-Key", a.APIKey},
		"server key":   {"x-server-key", a.ServerKey},
		"user token":   {"Authorization", "Bearer " + s.AccessToken},
		"wrong admin":  {"Authorization", "Bearer " + adminToken + "x"},
		"admin prefix": {"x-admin-token", adminToken[:10]},
	} {
		t.Run(name, func(t *testing.T) {
			e.do("GET", "/admin/v1/apps", nil, hdr...).wantError(t, 401, 400100)
			e.do("POST", "/admin/v1/apps/"+a.ID+"/users/alice/ban", nil, hdr...).wantError(t, 401, 400100)
		})
	}
	e.wantValid(s.AccessToken)
	if r := e.do("GET", "/admin/v1/apps", nil, "x-admin-token", adminToken); r.status != 200 {
		t.Fatalf("x-admin-token: %d %s", r.status, r.body)
	}
}

// TestNoSecretsInLogsOrDatabase runs a full flow, then searches the logs and
// the raw database file for every credential handed out.
func TestNoSecretsInLogsOrDatabase(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	e.setSecure(a, true)
	at := e.authToken(a, "alice")
	r := e.loginRaw(a, map[string]any{"userId": "alice", "deviceId": "d1", "authToken": at})
	var s struct{ AccessToken string }
	r.json(t, &s)
	e.validate(s.AccessToken)
	e.do("DELETE", "/api/v4/sessions", nil, "Authorization", "Bearer "+s.AccessToken)
	e.validate(s.AccessToken)
	e.loginRaw(a, map[string]any{"userId": "alice", "deviceId": "d1", "authToken": at + "x"})
	e.do("GET", "/admin/v1/apps", nil, "Authorization", "Bearer wrong-"+adminToken)
	e.stop()
	db, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(e.dbPath + "-wal")
	logs := e.logs.String()
	if !strings.Contains(logs, "session revoked") {
		t.Fatalf("logs look empty: %q", logs)
	}
	secrets := map[string]string{"API key": a.APIKey, "server key": a.ServerKey, "admin token": adminToken, "auth token": at, "access token": s.AccessToken}
	for name, v := range secrets {
		secretPart := v
		if len(v) == 64 {
			secretPart = v[16:] // the first 16 digits of a key are its public id
		}
		if strings.Contains(logs, secretPart) {
			t.Errorf("%s appears in the logs", name)
		}
		if strings.Contains(string(db), secretPart) || strings.Contains(string(wal), secretPart) {
			t.Errorf("%s appears in the database file", name)
		}
	}
}
