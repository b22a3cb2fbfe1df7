package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/internal/jwks"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

func jwksDoc(t *testing.T, kids ...string) []byte {
	var set jose.JSONWebKeySet
	for _, kid := range kids {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: "EdDSA", Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// idp serves a JWKS document that a test can change, and counts fetches.
type idp struct {
	mu      sync.Mutex
	doc     []byte
	status  int
	delay   time.Duration
	fetches atomic.Int64
	srv     *httptest.Server
}

func newIdP(t *testing.T, doc []byte) *idp {
	p := &idp{doc: doc, status: 200}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		doc, st, delay := p.doc, p.status, p.delay
		p.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(st)
		w.Write(doc)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) set(doc []byte, status int, delay time.Duration) {
	p.mu.Lock()
	p.doc, p.status, p.delay = doc, status, delay
	p.mu.Unlock()
}

func kids(t *testing.T, f *jwks.Fetcher, url string, refresh bool) (string, error) {
	keys, err := f.Keys(context.Background(), "vk", url, refresh)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.KID)
	}
	return strings.Join(ids, ","), err
}

func TestRotationAndRateLimit(t *testing.T) {
	clk := testenv.NewClock(time.Now())
	p := newIdP(t, jwksDoc(t, "k1"))
	f := jwks.New(jwks.Options{AllowPrivate: true, Now: clk.Now})
	if got, err := kids(t, f, p.srv.URL, false); err != nil || got != "k1" {
		t.Fatalf("first fetch: %q %v", got, err)
	}
	p.set(jwksDoc(t, "k2"), 200, 0)
	// An unknown kid right away: the refetch is rate-limited.
	if got, _ := kids(t, f, p.srv.URL, true); got != "k1" {
		t.Fatalf("refetched within the interval: %q", got)
	}
	// 1,000 tokens with random kids within the interval: no extra fetches.
	for range 1000 {
		f.Keys(context.Background(), "vk", p.srv.URL, true)
	}
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1 (no amplification toward the IdP)", n)
	}
	clk.Advance(31 * time.Second)
	if got, err := kids(t, f, p.srv.URL, true); err != nil || got != "k2" {
		t.Fatalf("rotation not picked up: %q %v", got, err)
	}
}

func TestOutagesKeepCachedKeys(t *testing.T) {
	clk := testenv.NewClock(time.Now())
	p := newIdP(t, jwksDoc(t, "k1"))
	f := jwks.New(jwks.Options{AllowPrivate: true, Now: clk.Now, Timeout: 200 * time.Millisecond})
	if _, err := kids(t, f, p.srv.URL, false); err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string]func(){
		"500":   func() { p.set([]byte("oops"), 500, 0) },
		"HTML":  func() { p.set([]byte("<html>hi</html>"), 200, 0) },
		"huge":  func() { p.set([]byte(`{"keys":[`+strings.Repeat(" ", 300<<10)+`]}`), 200, 0) },
		"slow":  func() { p.set(jwksDoc(t, "k9"), 200, 5*time.Second) },
		"empty": func() { p.set([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), 200, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			set()
			clk.Advance(31 * time.Second)
			start := time.Now()
			got, err := kids(t, f, p.srv.URL, true)
			if time.Since(start) > 2*time.Second {
				t.Fatalf("fetch not bounded: took %s", time.Since(start))
			}
			if err != nil || got != "k1" {
				t.Fatalf("cached keys lost: %q %v", got, err)
			}
		})
	}
	// Past the stale limit, a failing URL gives no keys.
	clk.Advance(25 * time.Hour)
	p.set([]byte("oops"), 500, 0)
	if _, err := kids(t, f, p.srv.URL, true); err == nil {
		t.Fatal("keys used past the stale limit")
	}
}

func TestFirstFetchFailures(t *testing.T) {
	p := newIdP(t, []byte(`{"keys":[`+strings.Repeat(" ", 300<<10)+`]}`))
	f := jwks.New(jwks.Options{AllowPrivate: true})
	if _, err := kids(t, f, p.srv.URL, false); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("huge document: %v", err)
	}
}

func TestPrivateAddressesRefused(t *testing.T) {
	p := newIdP(t, jwksDoc(t, "k1"))
	f := jwks.New(jwks.Options{})
	for _, u := range []string{
		p.srv.URL, // http and loopback
		"https://127.0.0.1/jwks", "https://[::1]/jwks", "https://169.254.169.254/latest", "https://10.1.2.3/jwks",
		"https://192.168.0.1/jwks", "https://100.64.0.1/jwks", "https://localhost/jwks",
		"file:///etc/passwd", "ftp://example.com/jwks", "https://user:pw@example.com/jwks",
	} {
		if err := f.CheckURL(context.Background(), u); err == nil {
			t.Errorf("%s accepted at registration", u)
		}
	}
	// And at fetch time, whatever the registration said.
	if _, err := f.Keys(context.Background(), "vk", strings.Replace(p.srv.URL, "http://", "https://", 1), false); err == nil {
		t.Fatal("fetch to a loopback address went through")
	}
	if n := p.fetches.Load(); n != 0 {
		t.Fatalf("%d requests reached the private server", n)
	}
	// Every hop is dialled through the same check (here the redirector is
	// itself private; a public one redirecting inward is refused the same way).
	redir := httptest.NewServer(http.RedirectHandler(p.srv.URL, http.StatusFound))
	defer redir.Close()
	_, err := f.Keys(context.Background(), "vk", redir.URL, false)
	if err == nil || p.fetches.Load() != 0 {
		t.Fatalf("redirect followed to a private address: %v", err)
	}
	if !errors.Is(jwks.ErrForbiddenAddress, jwks.ErrForbiddenAddress) {
		t.Fatal()
	}
}
