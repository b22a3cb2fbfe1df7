package mint_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/mint"
)

// gatehouseServer is a real Gatehouse in-process with one app in secure
// mode and a server key: what a backend is configured with.
type gatehouseServer struct {
	URL, AppID, ServerKey string
	svc                   *session.Service
	stop                  func()
}

// startGatehouse starts one; tb may be nil (Example functions).
func startGatehouse(tb testing.TB) *gatehouseServer {
	var s *testenv.Server
	stop := func() {}
	if tb != nil {
		s = testenv.Start(tb, testenv.Options{})
	} else {
		s, stop = testenv.StartExample()
	}
	on := true
	s.Svc.UpdateApp(context.Background(), s.App.ID, session.AppUpdate{SecureMode: &on})
	_, sk, _ := s.Svc.CreateKey(context.Background(), s.App.ID, gatehouse.ServerKey, "backend")
	return &gatehouseServer{URL: s.URL, AppID: s.App.ID, ServerKey: sk.Reveal(), svc: s.Svc, stop: stop}
}

func (g *gatehouseServer) validate(t *testing.T, tok string) int {
	req, _ := http.NewRequest("GET", g.URL+"/api/v3/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAuthTokenClient(t *testing.T) {
	g := startGatehouse(t)
	defer g.stop()
	c := &mint.AuthTokenClient{Endpoint: g.URL, ServerKey: g.ServerKey}
	tok, err := c.AuthToken(t.Context(), "alice")
	if err != nil || len(tok) != 42 {
		t.Fatalf("AuthToken = %q, %v", tok, err)
	}
	bad := &mint.AuthTokenClient{Endpoint: g.URL, ServerKey: strings.Repeat("0", 64)}
	if _, err := bad.AuthToken(t.Context(), "alice"); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("bad server key: %v", err)
	}
	if _, err := c.AuthToken(t.Context(), ""); gatehouse.ErrorCode(err) != gatehouse.Invalid {
		t.Fatalf("empty user id: %v", err)
	}
}

func TestAuthTokenClientRetries(t *testing.T) {
	var calls atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(503)
			w.Write([]byte(`{"status":"error","code":500000,"message":"storage unavailable"}`))
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			w.Write([]byte(`{"status":"error","code":400311,"message":"slow down"}`))
		default:
			if r.Header.Get("X-Server-Key") != "sk" {
				t.Errorf("server key header missing")
			}
			w.Write([]byte("s9qne0wEqVb2e05271177748659f574a4e8ab85e08"))
		}
	}))
	defer flaky.Close()
	c := &mint.AuthTokenClient{Endpoint: flaky.URL, ServerKey: "sk", Backoff: time.Millisecond}
	tok, err := c.AuthToken(t.Context(), "alice")
	if err != nil || tok != "s9qne0wEqVb2e05271177748659f574a4e8ab85e08" || calls.Load() != 3 {
		t.Fatalf("AuthToken = %q, %v after %d calls", tok, err, calls.Load())
	}
	// Out of retries: the last error, with its code.
	var downCalls atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downCalls.Add(1)
		w.WriteHeader(503)
	}))
	defer down.Close()
	c = &mint.AuthTokenClient{Endpoint: down.URL, ServerKey: "sk", Backoff: time.Millisecond, Retries: 2}
	if _, err := c.AuthToken(t.Context(), "alice"); gatehouse.ErrorCode(err) != gatehouse.Unavailable || downCalls.Load() != 3 {
		t.Fatalf("after retries: %v (%d calls, want 3)", err, downCalls.Load())
	}
}

func TestSignerTokensLogIn(t *testing.T) {
	g := startGatehouse(t)
	defer g.stop()
	secret := []byte("7f3a9c2e5b8d1f4a6c0e9b2d5f8a1c4e7b0d3f6a9c2e5b8d1f4a7c0e3b6d9f2a")
	k, err := g.svc.AddVerificationKey(t.Context(), g.AppID, session.VerificationKeyInput{Alg: "HS256", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	s := &mint.Signer{NetworkID: g.AppID, Alg: "HS256", Key: secret, KeyID: k.ID}
	tok, exp, err := s.Sign("alice")
	if err != nil || time.Until(exp) < 59*time.Minute {
		t.Fatalf("Sign = %v, %v", exp, err)
	}
	if st := g.validate(t, tok); st != 200 {
		t.Fatalf("signed token refused: %d", st)
	}
	// EdDSA with a key registered as a JWK.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: "backend-ed-1", Algorithm: "EdDSA"})
	if _, err := g.svc.AddVerificationKey(t.Context(), g.AppID, session.VerificationKeyInput{Alg: "EdDSA", PublicKey: jwk}); err != nil {
		t.Fatal(err)
	}
	ed := &mint.Signer{NetworkID: g.AppID, Alg: "EdDSA", Key: priv, KeyID: "backend-ed-1", Lifetime: 10 * time.Minute}
	tok, _, _ = ed.Sign("bob")
	if st := g.validate(t, tok); st != 200 {
		t.Fatalf("EdDSA token refused: %d", st)
	}
	// Longer than the app allows: refused by the server.
	long := &mint.Signer{NetworkID: g.AppID, Alg: "HS256", Key: secret, KeyID: k.ID, Lifetime: 48 * time.Hour}
	tok, _, _ = long.Sign("alice")
	if st := g.validate(t, tok); st != 401 {
		t.Fatalf("over-long token: %d", st)
	}
}

func TestHandlers(t *testing.T) {
	g := startGatehouse(t)
	defer g.stop()
	who := func(r *http.Request) (string, bool) {
		u := r.Header.Get("X-Test-User")
		return u, u != ""
	}
	h := mint.AuthTokenHandler(&mint.AuthTokenClient{Endpoint: g.URL, ServerKey: g.ServerKey}, who)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, _ := http.Post(srv.URL, "application/json", nil)
	if resp.StatusCode != 401 {
		t.Fatalf("no user: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", srv.URL, nil)
	req.Header.Set("X-Test-User", "carol")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || len(out["authToken"]) != 42 || out["userId"] != "carol" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("handler: %d %v", resp.StatusCode, out)
	}
	// Gatehouse refusing (bad server key) is a 502 for the app, not a 500.
	bad := httptest.NewServer(mint.AuthTokenHandler(&mint.AuthTokenClient{Endpoint: g.URL, ServerKey: "x", Retries: -1}, who))
	defer bad.Close()
	req, _ = http.NewRequest("GET", bad.URL, nil)
	req.Header.Set("X-Test-User", "carol")
	resp, _ = http.DefaultClient.Do(req)
	if resp.StatusCode != 502 {
		t.Fatalf("upstream refusal: %d", resp.StatusCode)
	}
}
