package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func testRing(t testing.TB, keys ...SigningKey) *Ring {
	t.Helper()
	if len(keys) == 0 {
		k, err := NewSigningKey(t0)
		if err != nil {
			t.Fatal(err)
		}
		keys = []SigningKey{k}
	}
	r, err := NewRing(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testClaims(iat time.Time, ttl time.Duration) *AccessClaims {
	return &AccessClaims{
		User:   UserClaim{UserInternalID: "u1", PublicUserID: "alice", NetworkID: "app1"},
		Issuer: "gatehouse", Subject: "u1", Audience: "app1", SessionID: "s1", ID: "j1",
		IssuedAt: iat.Unix(), ExpiresAt: iat.Add(ttl).Unix(),
	}
}

func TestSignVerify(t *testing.T) {
	r := testRing(t)
	tok, err := r.Sign(testClaims(t0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := Expectations{Issuer: "gatehouse", Now: t0.Add(time.Minute)}
	c, err := r.Verify(tok, want)
	if err != nil || c.User.PublicUserID != "alice" || c.SessionID != "s1" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	cases := []struct {
		name string
		now  time.Time
		iss  string
		want error
	}{
		{"inside exp leeway", t0.Add(time.Hour + 59*time.Second), "gatehouse", nil},
		{"expired past leeway", t0.Add(time.Hour + Leeway*time.Second), "gatehouse", ErrExpired},
		{"iat inside future leeway", t0.Add(-59 * time.Second), "gatehouse", nil},
		{"iat in the future", t0.Add(-2 * time.Minute), "gatehouse", ErrNotYetValid},
		{"other issuer", t0, "someone", ErrClaims},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.Verify(tok, Expectations{Issuer: c.iss, Now: c.now})
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old, _ := NewSigningKey(t0)
	r1 := testRing(t, old)
	oldTok, _ := r1.Sign(testClaims(t0, time.Hour))
	newer, _ := NewSigningKey(t0.Add(time.Hour))
	old.RetiredAt = t0.Add(time.Hour)
	r2 := testRing(t, old, newer)
	if r2.SignerID() != newer.ID {
		t.Fatalf("signer = %s, want the newest active key", r2.SignerID())
	}
	want := Expectations{Issuer: "gatehouse", Now: t0.Add(time.Minute)}
	if _, err := r2.Verify(oldTok, want); err != nil {
		t.Fatalf("token of the retired key refused: %v", err)
	}
	var jwks struct{ Keys []map[string]any }
	json.Unmarshal(r2.JWKS(), &jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want both", len(jwks.Keys))
	}
	for _, k := range jwks.Keys {
		if k["d"] != nil || k["alg"] != "EdDSA" || k["kty"] != "OKP" {
			t.Fatalf("JWKS entry %v", k)
		}
	}
	// A ring without the old key refuses its tokens.
	if _, err := testRing(t, newer).Verify(oldTok, want); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("dropped key still verifies: %v", err)
	}
	if _, err := NewRing([]SigningKey{old}); err == nil {
		t.Fatal("a ring of retired keys must be refused")
	}
}

func TestCacheRechecksExpiry(t *testing.T) {
	r := testRing(t)
	tok, _ := r.Sign(testClaims(t0, time.Hour))
	v := Verifier{Ring: func() *Ring { return r }, Cache: NewCache(600)}
	if _, err := v.Verify(tok, Expectations{Issuer: "gatehouse", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok, Expectations{Issuer: "gatehouse", Now: t0.Add(2 * time.Hour)}); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached token past its expiry: %v", err)
	}
	// The cache stays bounded.
	for i := range 10 {
		c := testClaims(t0, time.Duration(i+1)*time.Hour)
		tk, _ := r.Sign(c)
		v.Verify(tk, Expectations{Issuer: "gatehouse", Now: t0})
	}
	if n, b := v.Cache.entries.Len(), v.Cache.Bytes(); n > 2 || b > 600 {
		t.Fatalf("cache holds %d entries, %d bytes; bound is 600 bytes", n, b)
	}
	// Garbage is never cached.
	v.Cache.Purge()
	v.Verify(tok+"x", Expectations{Issuer: "gatehouse", Now: t0})
	if v.Cache.entries.Len() != 0 {
		t.Fatal("a refused token was cached")
	}
}

// A cache hit needs the whole token: one that shares a cached token's
// signature but differs anywhere else is verified afresh, and refused.
func TestCacheHitNeedsTheWholeToken(t *testing.T) {
	r := testRing(t)
	tok, _ := r.Sign(testClaims(t0, time.Hour))
	v := Verifier{Ring: func() *Ring { return r }, Cache: NewCache(1 << 20)}
	want := Expectations{Issuer: "gatehouse", Now: t0}
	if _, err := v.Verify(tok, want); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	// A new last byte of the signature, in canonical form. Not always "AA":
	// the last byte is the top byte of the scalar S (below 2^253), which is
	// zero in about one signature in seventeen, and then "AA" is no change.
	tail := "AA"
	if strings.HasSuffix(tok, tail) {
		tail = "AQ"
	}
	other := testClaims(t0, time.Hour)
	other.Subject, other.User.UserInternalID = "victim", "victim"
	payload, _ := json.Marshal(other)
	for name, forged := range map[string]string{
		"payload swapped": parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2],
		"header changed":  "e30." + parts[1] + "." + parts[2],
		"signature tail":  tok[:len(tok)-2] + tail,
	} {
		if c, err := v.Verify(forged, want); err == nil {
			t.Errorf("%s: accepted (subject %s)", name, c.Subject)
		}
	}
	c, err := v.Verify(tok, want)
	if err != nil || c.Subject != testClaims(t0, time.Hour).Subject || c.ID != "" {
		t.Fatalf("cached claims %+v, %v (the jti is not kept)", c, err)
	}
}

func TestAuthToken(t *testing.T) {
	k, err := NewAuthKey()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Mint("app1", "alice", t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != AuthTokenLen || strings.ToLower(tok[10:]) != tok[10:] {
		t.Fatalf("token %q: want 10 alphanumerics + 32 lowercase hex", tok)
	}
	if err := k.Check("app1", "alice", tok, t0); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	if err := k.Check("app1", "alice", `"`+tok+`"`, t0); err != nil {
		t.Fatalf("quoted token refused: %v", err)
	}
	other, _ := NewAuthKey()
	cases := map[string]struct {
		key       AuthKey
		app, user string
		tok       string
		now       time.Time
		want      error
	}{
		"other user":       {k, "app1", "bob", tok, t0, ErrSignature},
		"other app":        {k, "app2", "alice", tok, t0, ErrSignature},
		"other deployment": {other, "app1", "alice", tok, t0, ErrSignature},
		"expired":          {k, "app1", "alice", tok, t0.Add(10 * time.Minute), ErrExpired},
		"edited expiry":    {k, "app1", "alice", "zzzzzzz" + tok[7:], t0, ErrSignature},
		"uppercase hex":    {k, "app1", "alice", tok[:10] + strings.ToUpper(tok[10:]), t0, ErrMalformed},
		"short":            {k, "app1", "alice", tok[:41], t0, ErrMalformed},
		"empty":            {k, "app1", "alice", "", t0, ErrMalformed},
		"user id splice":   {k, "app1", "alic", tok, t0, ErrSignature},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := c.key.Check(c.app, c.user, c.tok, c.now); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzVerify feeds arbitrary strings to the verifier: it must never panic
// and never accept anything but a token the ring signed.
func FuzzVerify(f *testing.F) {
	r := testRing(f)
	good, _ := r.Sign(testClaims(t0, time.Hour))
	for _, s := range []string{good, good + ".", "a.b.c", "", "...", good[:len(good)-3], strings.Replace(good, ".", "..", 1),
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", strings.Repeat("A", 9000)} {
		f.Add(s)
	}
	want := Expectations{Issuer: "gatehouse", Now: t0}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := r.Verify(s, want)
		if err == nil && s != good {
			t.Fatalf("accepted %q as %+v", s, c)
		}
	})
}

// FuzzAuthTokenCheck: no panic, nothing but the minted token accepted.
func FuzzAuthTokenCheck(f *testing.F) {
	k, _ := NewAuthKey()
	good, _ := k.Mint("app1", "alice", t0.Add(time.Hour))
	f.Add(good)
	f.Add(`"` + good + `"`)
	f.Add("")
	f.Add(strings.Repeat("0", 42))
	f.Fuzz(func(t *testing.T, s string) {
		if k.Check("app1", "alice", s, t0) == nil && strings.Trim(s, `"`) != good {
			t.Fatalf("accepted %q", s)
		}
	})
}

// FuzzVerifyCustomer: arbitrary customer tokens never panic and never
// verify without the key.
func FuzzVerifyCustomer(f *testing.F) {
	key, err := HMACKey("vk_1", "HS256", []byte("7f3a9c2e5b8d1f4a6c0e9b2d5f8a1c4e7b0d3f6a9c2e5b8d1f4a7c0e3b6d9f2a"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "a.b.c", "eyJhbGciOiJub25lIn0.eyJ1c2VyIjp7InB1YmxpY1VzZXJJZCI6InUifSwiZXhwIjo5OTk5OTk5OTk5fQ.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6InZrXzEifQ.eyJleHAiOjF9.AAAA", strings.Repeat(".", 100)} {
		f.Add(s)
	}
	want := CustomerExpectations{Now: t0, MaxTTL: 24 * time.Hour}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := VerifyCustomer(s, []CustomerKey{key}, want); err == nil {
			t.Fatalf("accepted %q as %+v", s, c)
		}
		PeekNetwork(s)
	})
}

// The claims a backend signs (NewCustomerPayload, used by mint.Signer) are
// the claims VerifyCustomer reads.
func TestCustomerPayloadRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := NewCustomerPayload("net1", "alice", now, now.Add(time.Hour))
	p.Iss, p.Aud, p.JTI = "backend", []string{"net1"}, "j1"
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"aud":"net1"`) || !strings.Contains(string(b), `"iat":1800000000`) {
		t.Fatalf("payload %s: aud must be a string, dates integers", b)
	}
	c, err := checkCustomerClaims(b, CustomerExpectations{Now: now, Issuer: "backend", Audience: "net1", MaxTTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicUserID != "alice" || c.NetworkID != "net1" || !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("claims %+v", c)
	}
}
