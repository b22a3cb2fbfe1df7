package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// reencodings returns other texts of the same token that lenient base64url
// decoders accept: the last character of the signature swapped for one
// with the same significant bits (the attack run's "A"↔"B") and padding.
// (CR and LF cannot travel in an HTTP header; the realtime tests send them
// in the MQTT password.)
func reencodings(t testing.TB, tok string) map[string]string {
	t.Helper()
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	var unused int
	switch len(sig) % 4 {
	case 2:
		unused = 0x0f
	case 3:
		unused = 0x03
	default:
		t.Fatalf("signature of %d characters has no unused bits", len(sig))
	}
	swapped := tok[:len(tok)-1] + string(alphabet[last|unused])
	if swapped == tok {
		swapped = tok[:len(tok)-1] + string(alphabet[last&^unused])
	}
	// Check that the swap really decodes to the same bytes, so the test
	// tests what it says.
	a, err1 := base64.RawURLEncoding.DecodeString(sig)
	b, err2 := base64.RawURLEncoding.DecodeString(swapped[strings.LastIndexByte(swapped, '.')+1:])
	if err1 != nil || err2 != nil || string(a) != string(b) {
		t.Fatalf("swap does not keep the signature bytes: %v %v", err1, err2)
	}
	dot := strings.IndexByte(tok, '.')
	out := map[string]string{
		"last character swapped": swapped,
		"padded signature":       tok + strings.Repeat("=", (4-len(sig)%4)%4),
	}
	if dot%4 != 0 {
		out["padded header"] = tok[:dot] + strings.Repeat("=", 4-dot%4) + tok[dot:]
	}
	return out
}

// TestRevokedCustomerTokenReencoded is fault 1 of the attack run: secure
// logout revoked a customer token under the SHA-256 of its text, and the
// same token with the signature's last character swapped ("…A" for "…B")
// answered 200 again. Every other text of the token is now refused as
// malformed, and revocation names the signed content.
func TestRevokedCustomerTokenReencoded(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	secret := randomSecret()
	kid, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	tok := customerSign(t, jose.HS256, []byte(secret), kid, e.claims(a, "mallory", e.clock.Now(), time.Hour), nil)
	variants := reencodings(t, tok)
	for name, v := range variants {
		// Refused even before logout: one token, one text.
		if r := e.validate(v); r.status != 401 {
			t.Errorf("%s before logout: %d %s, want 401", name, r.status, r.body)
		}
	}
	e.wantValid(tok)
	if r := e.do("DELETE", "/api/v4/sessions", nil, "Authorization", "Bearer "+tok); r.status != 200 {
		t.Fatalf("secure logout: %d %s", r.status, r.body)
	}
	e.validate(tok).wantError(t, 401, 400100)
	for name, v := range variants {
		t.Run(name, func(t *testing.T) { e.validate(v).wantError(t, 401, 400100) })
	}
}

// TestRevokedES256TokenMalleated: ECDSA signatures are malleable — (r, n−s)
// verifies wherever (r, s) does, and anyone can compute it — so revocation
// cannot be keyed on the signature, only on what was signed.
func TestRevokedES256TokenMalleated(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid, r := e.addKey(a, map[string]any{"alg": "ES256", "publicKey": pemOf(t, &key.PublicKey)})
	if r.status != 201 {
		t.Fatalf("add key: %d %s", r.status, r.body)
	}
	tok := customerSign(t, jose.ES256, key, kid, e.claims(a, "mallory", e.clock.Now(), time.Hour), nil)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(elliptic.P256().Params().N, s)
	copy(sig[32:], s.FillBytes(make([]byte, 32)))
	malleated := tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
	e.wantValid(malleated) // a genuine second signature: accepted while live
	if r := e.do("DELETE", "/api/v4/sessions", nil, "Authorization", "Bearer "+tok); r.status != 200 {
		t.Fatalf("secure logout: %d %s", r.status, r.body)
	}
	e.validate(tok).wantError(t, 401, 400100)
	e.validate(malleated).wantError(t, 401, 400100)
	e.restart()
	e.validate(malleated).wantError(t, 401, 400100)
}

// TestLegacyRevocationRowsStillMatch: stores written before revocation was
// keyed on the signed content hold rows keyed on the SHA-256 of the raw
// text (16 bytes, hex); they keep refusing their tokens until they expire.
func TestLegacyRevocationRowsStillMatch(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	secret := randomSecret()
	kid, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	tok := customerSign(t, jose.HS256, []byte(secret), kid, e.claims(a, "olga", e.clock.Now(), time.Hour), nil)
	e.wantValid(tok)
	d := sha256.Sum256([]byte(tok))
	if err := e.db.RevokeToken(context.Background(), store.RevokedToken{AppID: a.ID, Hash: hex.EncodeToString(d[:16]), ExpiresAt: e.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.restart()
	e.validate(tok).wantError(t, 401, 400100)
	for name, v := range reencodings(t, tok) {
		t.Run(name, func(t *testing.T) { e.validate(v).wantError(t, 401, 400100) })
	}
}

// TestServerTokenReencodedRefused: Gatehouse's own tokens are read in the
// canonical form only, too.
func TestServerTokenReencodedRefused(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	tok := e.login(a, "alice", "d1").AccessToken
	e.wantValid(tok)
	for name, v := range reencodings(t, tok) {
		t.Run(name, func(t *testing.T) { e.validate(v).wantError(t, 401, 400100) })
	}
}

// TestCustomerTokenDuplicateMembers is fault 8: with "user" twice,
// encoding/json kept the second one, so a token whose first user claim
// passed the customer's review named a victim. Duplicates anywhere in
// header or claims are refused.
func TestCustomerTokenDuplicateMembers(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	secret := randomSecret()
	kid, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	now := e.clock.Now().Unix()
	user := func(id string) string {
		return `{"userId":"` + id + `","publicUserId":"` + id + `","networkId":"` + a.ID + `"}`
	}
	num := func(n int64) string { b, _ := json.Marshal(n); return string(b) }
	payloads := map[string]string{
		"user twice":         `{"user":` + user("mallory") + `,"iat":` + num(now) + `,"exp":` + num(now+3600) + `,"user":` + user("victim") + `}`,
		"exp twice":          `{"user":` + user("mallory") + `,"iat":` + num(now) + `,"exp":` + num(now+3600) + `,"exp":` + num(now+30*86400) + `}`,
		"publicUserId twice": `{"user":{"publicUserId":"mallory","networkId":"` + a.ID + `","publicUserId":"victim"},"iat":` + num(now) + `,"exp":` + num(now+3600) + `}`,
	}
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			tok := customerSign(t, jose.HS256, []byte(secret), kid, json.RawMessage(p), nil)
			e.validate(tok).wantError(t, 401, 400100)
		})
	}
	// A duplicate in the header: built by hand, as no signer writes one.
	t.Run("kid twice in the header", func(t *testing.T) {
		good := customerSign(t, jose.HS256, []byte(secret), kid, e.claims(a, "mallory", e.clock.Now(), time.Hour), nil)
		e.wantValid(good)
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + kid + `","typ":"JWT","kid":"other"}`))
		payload := good[strings.IndexByte(good, '.')+1 : strings.LastIndexByte(good, '.')]
		tok := hmacCompact(secret, hdr+"."+payload)
		e.validate(tok).wantError(t, 401, 400100)
	})
	// The same claims once each are fine.
	ok := customerSign(t, jose.HS256, []byte(secret), kid, json.RawMessage(`{"user":`+user("mallory")+`,"iat":`+num(now)+`,"exp":`+num(now+3600)+`}`), nil)
	e.wantValid(ok)
}

// TestCustomerTokenWithoutIat: issuedAt is when Gatehouse first accepted
// the token, never 0001-01-01 (the TS SDK computes its renewal time from
// issuedAt: the zero date made it renew at once, forever).
func TestCustomerTokenWithoutIat(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	secret := randomSecret()
	kid, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	c := e.claims(a, "nina", e.clock.Now(), time.Hour)
	delete(c, "iat")
	tok := customerSign(t, jose.HS256, []byte(secret), kid, c, nil)
	accepted := e.clock.Now().UTC().Truncate(time.Millisecond)
	r := e.validate(tok)
	var info struct{ IssuedAt, ExpiresAt string }
	r.json(t, &info)
	if r.status != 200 || info.IssuedAt != accepted.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("validate: %d %s, want issuedAt %s", r.status, r.body, accepted.Format(time.RFC3339Nano))
	}
	e.clock.Advance(time.Minute)
	if r := e.validate(tok); !strings.Contains(string(r.body), info.IssuedAt) {
		t.Fatalf("issuedAt moved: %s", r.body)
	}
}

// hmacCompact completes a signing input with its HS256 signature.
func hmacCompact(secret, input string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestCustomerTokenMalformedUnicodeUser: user ids in customer tokens are
// decoded by encoding/json too; "x\ud800" and "x\udfff" would be one user.
func TestCustomerTokenMalformedUnicodeUser(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	secret := randomSecret()
	kid, _ := e.addKey(a, map[string]any{"alg": "HS256", "secret": secret})
	now := e.clock.Now().Unix()
	sign := func(user string) string {
		p := fmt.Sprintf(`{"user":{"publicUserId":"%s","networkId":"%s"},"iat":%d,"exp":%d}`, user, a.ID, now, now+3600)
		return customerSign(t, jose.HS256, []byte(secret), kid, json.RawMessage(p), nil)
	}
	for _, u := range []string{`x\ud800`, `x\udfff`, "x\xff"} {
		e.validate(sign(u)).wantError(t, 401, 400100)
	}
	e.wantValid(sign(`x\ufffd`))
	e.wantValid(sign(`\ud83d\ude00`))
}
