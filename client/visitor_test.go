package client_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/client"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/mint"
)

func (s *server) setVisitors(mode gatehouse.VisitorMode, bots bool) {
	s.t.Helper()
	if _, err := s.svc.UpdateApp(s.t.Context(), s.app.ID, session.AppUpdate{Visitors: &mode, Bots: &bots}); err != nil {
		s.t.Fatal(err)
	}
}

// countingRealtime counts live connections started.
type countingRealtime struct{ n atomic.Int64 }

func (r *countingRealtime) Start(context.Context, client.RealtimeSession, func(gatehouse.TerminationReason)) func() {
	r.n.Add(1)
	return func() {}
}

func TestLoginAsVisitor(t *testing.T) {
	s := newServer(t)
	s.setVisitors(gatehouse.VisitorsOn, false)
	rt := &countingRealtime{}
	c := s.newClient(func(cfg *client.Config) { cfg.DeviceID = "phone-1"; cfg.Realtime = rt })
	rec := observe(c)
	if c.UserType() != "" {
		t.Fatalf("user type before login: %q", c.UserType())
	}
	if err := c.LoginAsVisitor(t.Context(), client.VisitorParams{}, nil); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	if c.UserType() != gatehouse.Visitor || c.UserID() != gatehouse.VisitorUserID(gatehouse.Visitor, "phone-1") {
		t.Fatalf("visitor session: type %q, user %q", c.UserType(), c.UserID())
	}
	if err := c.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rt.n.Load() != 0 {
		t.Fatal("a visitor session started the realtime connection")
	}
	first := c.UserID()
	// The same device again: the same user, and no detour through
	// notLoggedIn.
	if err := c.LoginAsVisitor(t.Context(), client.VisitorParams{}, nil); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	if c.UserID() != first {
		t.Fatalf("same device, new user: %s vs %s", c.UserID(), first)
	}
	// Read-only: its secure logout works, as for any user.
	if err := c.SecureLogout(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.NotLoggedIn)
	if c.UserType() != "" {
		t.Fatalf("user type after logout: %q", c.UserType())
	}
}

func TestLoginAsBotAndSignedIn(t *testing.T) {
	s := newServer(t)
	s.setVisitors(gatehouse.VisitorsOff, true)
	c := s.newClient()
	rec := observe(c)
	if err := c.LoginAsBot(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	if c.UserType() != gatehouse.Bot {
		t.Fatalf("bot session type %q", c.UserType())
	}
	// Visitors are off: refused, back to notLoggedIn (the bot session is
	// dropped locally first, as for any login of another user).
	err := c.LoginAsVisitor(t.Context(), client.VisitorParams{}, nil)
	if gatehouse.ErrorCode(err) != gatehouse.Forbidden || err.(*gatehouse.Error).Code.Wire() != 400300 {
		t.Fatalf("visitor login with visitors off: %v", err)
	}
	rec.want(t, gatehouse.NotLoggedIn, gatehouse.Establishing, gatehouse.NotLoggedIn)
	// A signed-in login says so.
	if err := c.Login(t.Context(), client.LoginParams{UserID: "alice"}, nil); err != nil {
		t.Fatal(err)
	}
	if c.UserType() != gatehouse.SignedIn {
		t.Fatalf("signed-in session type %q", c.UserType())
	}
	// And an access-token login takes the type from the validation answer.
	tok, _ := c.Token()
	c2 := s.newClient()
	c2.SetAccessTokenHandler(client.AccessTokenHandlerFunc(func(context.Context, string) (string, error) { return tok.AccessToken, nil }))
	if err := c2.LoginWithAccessToken(t.Context(), tok.AccessToken); err != nil || c2.UserType() != gatehouse.SignedIn {
		t.Fatalf("access-token login: %v, type %q", err, c2.UserType())
	}
}

// TestSecureVisitorLoginAndRenewal: in secure visitor mode the login needs
// a signature (here from mint, as the app's backend makes it); renewal asks
// the handler, which renews with a fresh signature, silently ahead of
// expiry and through establishing after it.
func TestSecureVisitorLoginAndRenewal(t *testing.T) {
	s := newServer(t)
	s.setVisitors(gatehouse.VisitorsSecure, false)
	s.setTTL(2 * time.Hour)
	_, secret, err := s.svc.CreateVisitorSecret(t.Context(), s.app.ID)
	if err != nil {
		t.Fatal(err)
	}
	store := &client.MemoryStore{}
	c := s.newClient(func(cfg *client.Config) { cfg.Store = store })
	rec := observe(c)
	sign := func() client.VisitorParams {
		sig, exp, err := mint.VisitorSignature(secret.Reveal(), c.DeviceID(), s.clock.Now().Add(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return client.VisitorParams{AuthSignature: sig, AuthSignatureExpiresAt: exp}
	}
	err = c.LoginAsVisitor(t.Context(), client.VisitorParams{}, nil)
	if gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("secure visitor login without a signature: %v", err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.NotLoggedIn)

	var asked atomic.Int64
	h := client.SessionHandlerFunc(func(r *client.Renewal) {
		asked.Add(1)
		if err := r.RenewWithAuthSignature(context.Background(), sign()); err != nil {
			t.Errorf("renew with signature: %v", err)
		}
	})
	if err := c.LoginAsVisitor(t.Context(), sign(), h); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	first, _ := c.Token()
	s.clock.Advance(93 * time.Minute) // past 80% of (2 h − 5 min)
	c.CheckExpiry(t.Context())
	second, _ := c.Token()
	if asked.Load() != 1 || second.AccessToken == first.AccessToken || c.State() != gatehouse.Established || c.UserType() != gatehouse.Visitor {
		t.Fatalf("silent renewal: asked %d, state %s, type %s", asked.Load(), c.State(), c.UserType())
	}
	s.clock.Advance(2 * time.Hour)
	c.CheckExpiry(t.Context())
	rec.want(t, gatehouse.TokenExpired, gatehouse.Establishing, gatehouse.Established)
	if err := c.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}

	// The saved session comes back as a visitor session.
	c2 := s.newClient(func(cfg *client.Config) { cfg.Store = store })
	if ok, err := c2.Restore(t.Context(), h); !ok || err != nil || c2.UserType() != gatehouse.Visitor {
		t.Fatalf("restore: %v, %v, type %q", ok, err, c2.UserType())
	}
}
