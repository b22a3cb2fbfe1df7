package session

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/jwks"
	"github.com/gatehouse-auth/gatehouse/mint"
	"github.com/gatehouse-auth/gatehouse/token"
)

// The customer-token verifier alone: no store, no service, no HTTP API
// (the JWKS test serves its keys over real HTTP to the real fetcher).

// fixedClock is a settable clock (internal/testenv's imports this package).
type fixedClock struct{ t atomic.Pointer[time.Time] }

func newFixedClock(t time.Time) *fixedClock {
	c := &fixedClock{}
	c.t.Store(&t)
	return c
}

func (c *fixedClock) Now() time.Time { return *c.t.Load() }

func (c *fixedClock) Advance(d time.Duration) {
	t := c.Now().Add(d)
	c.t.Store(&t)
}

func newTestVerifier(fetcher KeyFetcher, clock *fixedClock) *customerVerifier {
	return newCustomerVerifier(fetcher, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.Now, 1<<20)
}

func hmacFixture(t *testing.T) (gatehouse.VerificationKey, *token.CustomerKey, []byte) {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	ck, err := token.HMACKey("vk_hmac", "HS256", secret)
	if err != nil {
		t.Fatal(err)
	}
	return gatehouse.VerificationKey{ID: "vk_hmac", AppID: "app1", Alg: "HS256", Kind: gatehouse.KeyHMAC}, &ck, secret
}

func TestCustomerVerifierHMAC(t *testing.T) {
	clock := newFixedClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	v := newTestVerifier(nil, clock)
	k, ck, secret := hmacFixture(t)
	app := &gatehouse.App{ID: "app1"}
	sign := func(s mint.Signer, user string) string {
		t.Helper()
		s.Alg, s.Key, s.Now = "HS256", secret, clock.Now
		if s.NetworkID == "" {
			s.NetworkID = "app1"
		}
		raw, _, err := s.Sign(user)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	raw := sign(mint.Signer{}, "alice")

	// No key registered yet: refused.
	if _, _, err := v.verify(context.Background(), raw, app); !errors.Is(err, errTokenInvalid) {
		t.Fatalf("no keys: err = %v, want invalid", err)
	}
	v.addKey(k, ck)
	v.addKey(k, ck) // twice: still one key
	if len(v.keys["app1"]) != 1 {
		t.Fatalf("keys = %d, want 1", len(v.keys["app1"]))
	}
	claims, now, err := v.verify(context.Background(), raw, app)
	if err != nil {
		t.Fatal(err)
	}
	if claims.PublicUserID != "alice" || !now.Equal(clock.Now()) || !claims.ExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("claims = %+v at %v", claims, now)
	}

	// Claims are checked against the app's settings.
	strict := &gatehouse.App{ID: "app1", TokenIssuer: "https://idp.example"}
	if _, _, err := v.verify(context.Background(), raw, strict); err == nil {
		t.Error("token without the app's issuer accepted")
	}
	if _, _, err := v.verify(context.Background(), sign(mint.Signer{Issuer: "https://idp.example"}, "alice"), strict); err != nil {
		t.Errorf("token with the app's issuer refused: %v", err)
	}
	// A token naming another app in its claims is refused with this app's keys.
	if _, _, err := v.verify(context.Background(), sign(mint.Signer{NetworkID: "app2"}, "alice"), app); !errors.Is(err, errTokenInvalid) {
		t.Errorf("token for app2 verified for app1: err = %v", err)
	}
	// Expired (past the leeway).
	old := raw
	clock.Advance(time.Hour + 2*token.Leeway*time.Second)
	if _, _, err := v.verify(context.Background(), old, app); !errors.Is(err, errTokenExpired) {
		t.Errorf("expired token: err = %v, want expired", err)
	}
	// A removed key verifies nothing.
	fresh := sign(mint.Signer{}, "bob")
	v.removeKey("app1", "vk_hmac")
	if _, _, err := v.verify(context.Background(), fresh, app); !errors.Is(err, errTokenInvalid) {
		t.Errorf("removed key still verifies: err = %v", err)
	}
}

func TestCustomerVerifierCache(t *testing.T) {
	clock := newFixedClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	v := newTestVerifier(nil, clock)
	k, ck, _ := hmacFixture(t)
	v.addKey(k, ck)
	ct := &customerToken{appID: "app1", userInternalID: "u1", publicID: "alice", hash: revocationKey("a.b.c"), expiresAt: clock.Now().Add(time.Minute)}
	if got, err := v.cached("a.b.c"); got != nil || err != nil {
		t.Fatalf("empty cache: %v, %v", got, err)
	}
	v.remember("a.b.c", ct)
	if got, err := v.cached("a.b.c"); got != ct || err != nil {
		t.Fatalf("cached = %v, %v; want the remembered token", got, err)
	}
	if n, b := v.cacheStats(); n != 1 || b <= 0 {
		t.Errorf("cacheStats = %d entries, %d bytes", n, b)
	}
	// Expiry is re-checked on every use, with the leeway.
	clock.Advance(time.Minute + token.Leeway*time.Second - time.Second)
	if got, err := v.cached("a.b.c"); got != ct || err != nil {
		t.Errorf("within the leeway: %v, %v", got, err)
	}
	clock.Advance(time.Second)
	if _, err := v.cached("a.b.c"); !errors.Is(err, errTokenExpired) {
		t.Errorf("past expiry and leeway: err = %v, want expired", err)
	}
	// App settings changed, or a key removed: nothing cached survives.
	v.remember("d.e.f", &customerToken{expiresAt: clock.Now().Add(time.Hour)})
	v.forgetVerified()
	if got, _ := v.cached("d.e.f"); got != nil {
		t.Error("forgetVerified kept a token")
	}
	v.remember("d.e.f", &customerToken{expiresAt: clock.Now().Add(time.Hour)})
	v.removeKey("app1", "vk_other")
	if n, _ := v.cacheStats(); n != 0 {
		t.Errorf("removeKey kept %d cached tokens", n)
	}
	if len(v.keys["app1"]) != 1 {
		t.Error("removing another key removed vk_hmac")
	}
}

// TestCustomerVerifierJWKS: keys of a JWKS URL are fetched on use, once, and
// refetched when a token names a key the cached document lacks.
func TestCustomerVerifierJWKS(t *testing.T) {
	clock := newFixedClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	pub1, priv1, _ := ed25519.GenerateKey(rand.Reader)
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	var set atomic.Pointer[jose.JSONWebKeySet]
	set.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub1, KeyID: "k1", Algorithm: "EdDSA", Use: "sig"}}})
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set.Load())
	}))
	defer srv.Close()
	v := newTestVerifier(jwks.New(jwks.Options{AllowPrivate: true, Now: clock.Now}), clock)
	v.addKey(gatehouse.VerificationKey{ID: "vk_jwks", AppID: "app1", Alg: "EdDSA", Kind: gatehouse.KeyJWKS, JWKSURL: srv.URL}, nil)
	app := &gatehouse.App{ID: "app1"}
	sign := func(kid string, key ed25519.PrivateKey) string {
		t.Helper()
		raw, _, err := (&mint.Signer{NetworkID: "app1", Alg: "EdDSA", Key: key, KeyID: kid, Now: clock.Now}).Sign("carol")
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for range 2 {
		if c, _, err := v.verify(context.Background(), sign("k1", priv1), app); err != nil || c.PublicUserID != "carol" {
			t.Fatalf("JWKS key k1: %+v, %v", c, err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("fetches = %d after two verifications, want 1 (cached)", n)
	}
	// The customer rotates: k2 appears in the document. A token signed with
	// it triggers one refetch (past the fetcher's minimum refresh interval).
	set.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub2, KeyID: "k2", Algorithm: "EdDSA", Use: "sig"}}})
	clock.Advance(time.Minute)
	if _, _, err := v.verify(context.Background(), sign("k2", priv2), app); err != nil {
		t.Fatalf("rotated key k2: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("fetches = %d, want 2 (one refetch on the unknown key)", n)
	}
	// A key the customer never published stays refused.
	_, priv3, _ := ed25519.GenerateKey(rand.Reader)
	if _, _, err := v.verify(context.Background(), sign("k3", priv3), app); err == nil {
		t.Error("token signed by an unpublished key accepted")
	}
}
