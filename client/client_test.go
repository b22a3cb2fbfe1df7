package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/client"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// server is a real Gatehouse (SQLite on a temp file, real HTTP) whose clock
// the client shares, so tests move time for both without sleeping.
type server struct {
	t      *testing.T
	srv    *httptest.Server
	svc    *session.Service
	clock  *testenv.Clock
	app    gatehouse.App
	apiKey string
	reqs   atomic.Int64 // requests the clients made
}

func newServer(t *testing.T) *server {
	t.Helper()
	g := testenv.Start(t, testenv.Options{Clock: testenv.NewClock(time.Now().UTC().Truncate(time.Second))})
	return &server{t: t, srv: g.HTTP(), svc: g.Svc, clock: g.Clock, app: g.App, apiKey: g.APIKey}
}

// counting counts the requests a client sends.
type counting struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func (s *server) newClient(mod ...func(*client.Config)) *client.Client {
	s.t.Helper()
	cfg := client.Config{APIKey: s.apiKey, Endpoint: client.Endpoint{HTTP: s.srv.URL}, Now: s.clock.Now, CheckInterval: -1,
		HTTPClient: &http.Client{Transport: counting{&s.reqs, http.DefaultTransport}}}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

func (s *server) setTTL(d time.Duration) {
	if _, err := s.svc.UpdateApp(s.t.Context(), s.app.ID, session.AppUpdate{AccessTTL: &d}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) authToken(userID string) string {
	s.t.Helper()
	_, sk, err := s.svc.CreateKey(s.t.Context(), s.app.ID, gatehouse.ServerKey, "")
	if err != nil {
		s.t.Fatal(err)
	}
	tok, _, err := s.svc.MintAuthToken(s.t.Context(), sk, userID)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok.Reveal()
}

// recorder collects the state changes an observer sees.
type recorder struct {
	mu      sync.Mutex
	evs     []client.StateChange
	illegal []client.StateChange
	ch      chan client.StateChange
}

// observe records every change and flags any the state machine forbids.
func observe(c *client.Client) *recorder {
	r := &recorder{ch: make(chan client.StateChange, 100)}
	c.Observe(func(ev client.StateChange) {
		r.mu.Lock()
		r.evs = append(r.evs, ev)
		if !gatehouse.CanTransition(ev.From, ev.To) {
			r.illegal = append(r.illegal, ev)
		}
		r.mu.Unlock()
		r.ch <- ev
	})
	return r
}

func (r *recorder) legal(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.illegal) > 0 {
		t.Fatalf("illegal transitions observed: %+v", r.illegal)
	}
}

// want waits for the next changes (delivery is asynchronous) and checks
// them in order.
func (r *recorder) want(t *testing.T, states ...gatehouse.SessionState) []client.StateChange {
	t.Helper()
	var got []client.StateChange
	for _, st := range states {
		select {
		case ev := <-r.ch:
			got = append(got, ev)
			if ev.To != st {
				t.Fatalf("state changes %v, want %v", got, states)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("state changes %v, still waiting for %v", got, states)
		}
	}
	r.legal(t)
	return got
}

func TestPlainLogin(t *testing.T) {
	s := newServer(t)
	c := s.newClient()
	rec := observe(c)
	if err := c.Login(t.Context(), client.LoginParams{UserID: "alice", DisplayName: "Alice"}, nil); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	if c.State() != gatehouse.Established || c.UserID() != "alice" {
		t.Fatalf("state %s user %q", c.State(), c.UserID())
	}
	tok, ok := c.Token()
	if !ok || tok.AccessToken == "" || !tok.ExpiresAt.After(tok.IssuedAt) {
		t.Fatalf("token %+v", tok)
	}
	if err := c.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	u, err := c.User(t.Context(), "alice")
	if err != nil || u.DisplayName != "Alice" {
		t.Fatalf("User = %+v, %v", u, err)
	}
}

func TestLoginFailureGoesBackToNotLoggedIn(t *testing.T) {
	s := newServer(t)
	c := s.newClient(func(cfg *client.Config) { cfg.APIKey = strings.Repeat("0", 64) })
	rec := observe(c)
	err := c.Login(t.Context(), client.LoginParams{UserID: "alice"}, nil)
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != gatehouse.Unauthenticated || ge.Code.Wire() != 400100 {
		t.Fatalf("bad API key: %v", err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.NotLoggedIn)
}

func TestSecureModeLogin(t *testing.T) {
	s := newServer(t)
	on := true
	s.svc.UpdateApp(t.Context(), s.app.ID, session.AppUpdate{SecureMode: &on})
	c := s.newClient()
	if err := c.Login(t.Context(), client.LoginParams{UserID: "bob"}, nil); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("secure mode without auth token: %v", err)
	}
	if err := c.Login(t.Context(), client.LoginParams{UserID: "bob", AuthToken: s.authToken("bob")}, nil); err != nil {
		t.Fatal(err)
	}
	if c.State() != gatehouse.Established {
		t.Fatalf("state %s", c.State())
	}
}

func TestBannedLoginIsTypedError(t *testing.T) {
	s := newServer(t)
	c := s.newClient()
	c.Login(t.Context(), client.LoginParams{UserID: "carol"}, nil)
	s.svc.Ban(t.Context(), s.app.ID, "carol")
	err := c.Login(t.Context(), client.LoginParams{UserID: "carol"}, nil)
	if !errors.Is(err, &gatehouse.Error{Code: gatehouse.Banned}) {
		t.Fatalf("banned login: %v", err)
	}
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code.Wire() != 400312 || ge.Message == "" {
		t.Fatalf("error %#v", err)
	}
	if c.State() != gatehouse.NotLoggedIn {
		t.Fatalf("state %s", c.State())
	}
}

func TestRenewalAheadOfExpiry(t *testing.T) {
	s := newServer(t)
	s.setTTL(2 * time.Hour)
	c := s.newClient()
	rec := observe(c)
	var asked atomic.Int64
	h := client.SessionHandlerFunc(func(r *client.Renewal) {
		asked.Add(1)
		if err := r.Renew(context.Background()); err != nil {
			t.Errorf("renew: %v", err)
		}
		if err := r.Renew(context.Background()); !errors.Is(err, client.ErrRenewalUsed) {
			t.Errorf("second use of a renewal: %v", err)
		}
	})
	if err := c.Login(t.Context(), client.LoginParams{UserID: "alice"}, h); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	first, _ := c.Token()

	// Lifetime 2 h, less 5 min, times 0.8 = 92 min: nothing before that.
	s.clock.Advance(91 * time.Minute)
	c.CheckExpiry(t.Context())
	if asked.Load() != 0 {
		t.Fatal("renewal asked for too early")
	}
	s.clock.Advance(2 * time.Minute)
	c.CheckExpiry(t.Context())
	if asked.Load() != 1 {
		t.Fatalf("handler asked %d times, want 1", asked.Load())
	}
	second, _ := c.Token()
	if second.AccessToken == first.AccessToken || !second.ExpiresAt.After(first.ExpiresAt) {
		t.Fatal("token not renewed")
	}
	if c.State() != gatehouse.Established {
		t.Fatalf("state after silent renewal: %s", c.State())
	}
	if err := c.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Past expiry (less the margin) without a check: tokenExpired, then the
	// renewal goes through establishing back to established.
	s.clock.Advance(2 * time.Hour)
	c.CheckExpiry(t.Context())
	rec.want(t, gatehouse.TokenExpired, gatehouse.Establishing, gatehouse.Established)
	if asked.Load() != 2 {
		t.Fatalf("handler asked %d times, want 2", asked.Load())
	}
	if err := c.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRenewalDeclinedThenGranted(t *testing.T) {
	s := newServer(t)
	s.setTTL(2 * time.Hour)
	on := true
	s.svc.UpdateApp(t.Context(), s.app.ID, session.AppUpdate{SecureMode: &on})
	c := s.newClient(func(cfg *client.Config) { cfg.RetryDelay = 10 * time.Minute })
	var asked atomic.Int64
	var decline atomic.Bool
	decline.Store(true)
	h := client.SessionHandlerFunc(func(r *client.Renewal) {
		asked.Add(1)
		if decline.Load() {
			r.UnableToRetrieveAuthToken()
			return
		}
		// Later, from another goroutine, as a real app would after asking
		// its backend.
		go func() {
			if err := r.RenewWithAuthToken(context.Background(), s.authToken("dave")); err != nil {
				t.Errorf("renew with auth token: %v", err)
			}
		}()
	})
	if err := c.Login(t.Context(), client.LoginParams{UserID: "dave", AuthToken: s.authToken("dave")}, h); err != nil {
		t.Fatal(err)
	}
	first, _ := c.Token()
	s.clock.Advance(100 * time.Minute)
	c.CheckExpiry(t.Context())
	if asked.Load() != 1 {
		t.Fatalf("asked %d", asked.Load())
	}
	// Within the retry delay nobody asks again.
	s.clock.Advance(5 * time.Minute)
	c.CheckExpiry(t.Context())
	if asked.Load() != 1 {
		t.Fatalf("asked again within the retry delay")
	}
	decline.Store(false)
	s.clock.Advance(6 * time.Minute)
	c.CheckExpiry(t.Context())
	if asked.Load() != 2 {
		t.Fatalf("not asked again after the retry delay")
	}
	deadline := time.After(5 * time.Second)
	for {
		tok, _ := c.Token()
		if tok.AccessToken != first.AccessToken {
			break
		}
		select {
		case <-deadline:
			t.Fatal("renewal from another goroutine never landed")
		case <-time.After(time.Millisecond):
		}
	}
	if err := c.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestSecureLogout(t *testing.T) {
	s := newServer(t)
	c := s.newClient()
	c.Login(t.Context(), client.LoginParams{UserID: "alice"}, nil)
	tok, _ := c.Token()
	rec := observe(c)
	if err := c.SecureLogout(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.NotLoggedIn)
	if _, ok := c.Token(); ok {
		t.Fatal("token kept after logout")
	}
	if _, err := s.svc.Authenticate(context.Background(), tok.AccessToken); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("server still accepts the token: %v", err)
	}
}

func TestSecureLogoutFailureStaysLoggedIn(t *testing.T) {
	s := newServer(t)
	c := s.newClient()
	c.Login(t.Context(), client.LoginParams{UserID: "alice"}, nil)
	s.srv.Close() // the server is down
	err := c.SecureLogout(t.Context())
	if gatehouse.ErrorCode(err) != gatehouse.Unavailable {
		t.Fatalf("secure logout with the server down: %v", err)
	}
	if c.State() != gatehouse.Established {
		t.Fatalf("state %s, want established", c.State())
	}
	if _, ok := c.Token(); !ok {
		t.Fatal("token dropped although revocation failed")
	}
}

func TestUnauthorizedTerminates(t *testing.T) {
	s := newServer(t)
	c := s.newClient()
	c.Login(t.Context(), client.LoginParams{UserID: "alice"}, nil)
	rec := observe(c)
	if _, err := s.svc.RevokeAll(t.Context(), s.app.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	err := c.Validate(t.Context())
	if gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("validate revoked: %v", err)
	}
	evs := rec.want(t, gatehouse.Terminated)
	if evs[0].Reason != gatehouse.ReasonUnauthorized {
		t.Fatalf("reason %q", evs[0].Reason)
	}
	if _, ok := c.Token(); ok {
		t.Fatal("terminated client kept its token")
	}
	// Only a new login leaves terminated.
	if err := c.Login(t.Context(), client.LoginParams{UserID: "alice"}, nil); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
}

func TestSavedSession(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	path := filepath.Join(t.TempDir(), "session")
	fileStore, err := client.NewFileStore(path, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]client.SessionStore{"memory": &client.MemoryStore{}, "file": fileStore} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t)
			withStore := func(cfg *client.Config) { cfg.Store = store }
			first := s.newClient(withStore)
			if err := first.Login(t.Context(), client.LoginParams{UserID: "erin"}, nil); err != nil {
				t.Fatal(err)
			}
			tok, _ := first.Token()
			first.Close()

			second := s.newClient(withStore)
			rec := observe(second)
			ok, err := second.Restore(t.Context(), nil)
			if err != nil || !ok {
				t.Fatalf("Restore = %v, %v", ok, err)
			}
			rec.want(t, gatehouse.Establishing, gatehouse.Established)
			if got, _ := second.Token(); got.AccessToken != tok.AccessToken || second.UserID() != "erin" || second.DeviceID() != first.DeviceID() {
				t.Fatal("restored a different session")
			}
			if err := second.Validate(t.Context()); err != nil {
				t.Fatal(err)
			}
			second.Close()

			// A revoked saved token ends in notLoggedIn and is forgotten.
			s.svc.RevokeAll(t.Context(), s.app.ID, "erin")
			third := s.newClient(withStore)
			rec = observe(third)
			ok, err = third.Restore(t.Context(), nil)
			if err != nil || ok {
				t.Fatalf("Restore of a revoked token = %v, %v", ok, err)
			}
			rec.want(t, gatehouse.Establishing, gatehouse.NotLoggedIn)
			if saved, _ := store.Load(t.Context()); saved != nil {
				t.Fatal("revoked session still saved")
			}
		})
	}
	// The file is private and the token is not in it in clear.
	s := newServer(t)
	c := s.newClient(func(cfg *client.Config) { cfg.Store = fileStore })
	c.Login(t.Context(), client.LoginParams{UserID: "frank"}, nil)
	tok, _ := c.Token()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), tok.AccessToken[:40]) || strings.Contains(string(raw), "frank") {
		t.Fatal("session file is not encrypted")
	}
	other, _ := client.NewFileStore(path, make([]byte, 32))
	if _, err := other.Load(t.Context()); err == nil {
		t.Fatal("session file opened with the wrong key")
	}
}

func TestLoginWithAccessToken(t *testing.T) {
	s := newServer(t)
	// A token to log in with: Gatehouse's own tokens have the payload the
	// SDKs decode, as customer-signed ones do.
	issuer := s.newClient()
	issuer.Login(t.Context(), client.LoginParams{UserID: "gina"}, nil)
	tok, _ := issuer.Token()

	c := s.newClient()
	before := s.reqs.Load()
	if err := c.LoginWithAccessToken(t.Context(), tok.AccessToken); !errors.Is(err, client.ErrNoAccessTokenHandler) {
		t.Fatalf("without a handler: %v", err)
	}
	if s.reqs.Load() != before || c.State() != gatehouse.NotLoggedIn {
		t.Fatal("a login without handler touched the network or the state")
	}
	var renewals atomic.Int64
	c.SetAccessTokenHandler(client.AccessTokenHandlerFunc(func(ctx context.Context, userID string) (string, error) {
		renewals.Add(1)
		fresh := s.newClient()
		if err := fresh.Login(ctx, client.LoginParams{UserID: userID}, nil); err != nil {
			return "", err
		}
		t, _ := fresh.Token()
		return t.AccessToken, nil
	}))
	rec := observe(c)
	if err := c.LoginWithAccessToken(t.Context(), tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	if c.UserID() != "gina" {
		t.Fatalf("user %q", c.UserID())
	}
	if err := c.LoginWithAccessToken(t.Context(), "not-a-jwt"); !errors.Is(err, client.ErrMalformedAccessToken) {
		t.Fatalf("malformed token: %v", err)
	}
	// Renewal through the handler, with the injected clock.
	s.clock.Advance(25 * 24 * time.Hour)
	c.CheckExpiry(t.Context())
	if renewals.Load() != 1 {
		t.Fatalf("access-token handler called %d times", renewals.Load())
	}
	renewed, _ := c.Token()
	if renewed.AccessToken == tok.AccessToken || c.State() != gatehouse.Established {
		t.Fatal("access-token session not renewed")
	}
}

func TestAccessTokenHandlerFailureRetriesLater(t *testing.T) {
	s := newServer(t)
	issuer := s.newClient()
	issuer.Login(t.Context(), client.LoginParams{UserID: "hank"}, nil)
	tok, _ := issuer.Token()
	c := s.newClient()
	var calls atomic.Int64
	c.SetAccessTokenHandler(client.AccessTokenHandlerFunc(func(context.Context, string) (string, error) {
		calls.Add(1)
		return "", errors.New("backend down")
	}))
	rec := observe(c)
	if err := c.LoginWithAccessToken(t.Context(), tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established)
	s.clock.Advance(30*24*time.Hour - time.Minute) // past expiry less the margin
	c.CheckExpiry(t.Context())
	rec.want(t, gatehouse.TokenExpired)
	c.CheckExpiry(t.Context())
	if calls.Load() != 1 {
		t.Fatalf("handler called %d times within the retry delay", calls.Load())
	}
	s.clock.Advance(client.DefaultRetryDelay)
	c.CheckExpiry(t.Context())
	if calls.Load() != 2 || c.State() != gatehouse.TokenExpired {
		t.Fatalf("calls %d state %s", calls.Load(), c.State())
	}
}

// TestConcurrentUse: many goroutines use one client while its token comes
// due; the handler is asked exactly once for the window. Run with -race.
func TestConcurrentUse(t *testing.T) {
	s := newServer(t)
	s.setTTL(2 * time.Hour)
	c := s.newClient()
	var asked atomic.Int64
	h := client.SessionHandlerFunc(func(r *client.Renewal) {
		asked.Add(1)
		if err := r.Renew(context.Background()); err != nil {
			t.Errorf("renew: %v", err)
		}
	})
	if err := c.Login(t.Context(), client.LoginParams{UserID: "ivy"}, h); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(100 * time.Minute)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				switch (i + j) % 4 {
				case 0:
					c.CheckExpiry(t.Context())
				case 1:
					if err := c.Validate(t.Context()); err != nil {
						t.Error(err)
					}
				case 2:
					c.State()
					c.Token()
				case 3:
					stop := c.Observe(func(client.StateChange) {})
					stop()
				}
			}
		}()
	}
	wg.Wait()
	if asked.Load() != 1 {
		t.Fatalf("handler asked %d times for one window, want 1", asked.Load())
	}
}

// TestSlowObserverBlocksNobody: an observer stuck in its callback delays
// neither the client nor another observer.
func TestSlowObserverBlocksNobody(t *testing.T) {
	s := newServer(t)
	c := s.newClient()
	block := make(chan struct{})
	defer close(block)
	c.Observe(func(client.StateChange) { <-block })
	rec := observe(c)
	for range 3 {
		if err := c.Login(t.Context(), client.LoginParams{UserID: "jo"}, nil); err != nil {
			t.Fatal(err)
		}
		c.Logout(t.Context())
	}
	rec.want(t, gatehouse.Establishing, gatehouse.Established, gatehouse.NotLoggedIn,
		gatehouse.Establishing, gatehouse.Established, gatehouse.NotLoggedIn)
}

func TestNoGoroutineLeak(t *testing.T) {
	s := newServer(t)
	base := runtime.NumGoroutine()
	for range 5 {
		c, err := client.New(client.Config{APIKey: s.apiKey, Endpoint: client.Endpoint{HTTP: s.srv.URL}, CheckInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c.Observe(func(client.StateChange) {})
		c.Login(t.Context(), client.LoginParams{UserID: "kim"}, nil)
		c.Close()
	}
	s.srv.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func TestRegions(t *testing.T) {
	for r, host := range map[client.Region]string{client.RegionSG: "https://apix.sg.amity.co", client.RegionEU: "https://apix.eu.amity.co", client.RegionUS: "https://apix.us.amity.co"} {
		ep, err := client.RegionEndpoint(r)
		if err != nil || ep.HTTP != host || !strings.HasPrefix(ep.MQTT, "wss://sse."+string(r)) {
			t.Errorf("%s: %+v %v", r, ep, err)
		}
	}
	if _, err := client.New(client.Config{APIKey: "k", Region: "mars"}); err == nil {
		t.Error("unknown region accepted")
	}
	if _, err := client.New(client.Config{}); err == nil {
		t.Error("missing API key accepted")
	}
}

func TestBanAnswerTerminates(t *testing.T) {
	s := newServer(t)
	c := s.newClient()
	c.Login(t.Context(), client.LoginParams{UserID: "lou"}, nil)
	rec := observe(c)
	s.svc.Ban(t.Context(), s.app.ID, "lou")
	if err := c.Validate(t.Context()); gatehouse.ErrorCode(err) != gatehouse.Banned {
		t.Fatalf("validate after ban: %v", err)
	}
	if evs := rec.want(t, gatehouse.Terminated); evs[0].Reason != gatehouse.ReasonGlobalBan {
		t.Fatalf("reason %q", evs[0].Reason)
	}
}

// TestStateEventTable drives the client from each reachable resting state
// through each operation and checks where it ends; every change observed on
// the way must be a legal transition.
func TestStateEventTable(t *testing.T) {
	decline := client.SessionHandlerFunc(func(r *client.Renewal) { r.UnableToRetrieveAuthToken() })
	starts := map[gatehouse.SessionState]func(t *testing.T, s *server, c *client.Client){
		gatehouse.NotLoggedIn: func(*testing.T, *server, *client.Client) {},
		gatehouse.Established: func(t *testing.T, s *server, c *client.Client) {
			if err := c.Login(t.Context(), client.LoginParams{UserID: "u"}, decline); err != nil {
				t.Fatal(err)
			}
		},
		gatehouse.TokenExpired: func(t *testing.T, s *server, c *client.Client) {
			c.Login(t.Context(), client.LoginParams{UserID: "u"}, decline)
			s.clock.Advance(31 * 24 * time.Hour)
			c.CheckExpiry(t.Context())
		},
		gatehouse.Terminated: func(t *testing.T, s *server, c *client.Client) {
			c.Login(t.Context(), client.LoginParams{UserID: "u"}, decline)
			s.svc.RevokeAll(t.Context(), s.app.ID, "u")
			c.Validate(t.Context())
		},
	}
	ops := map[string]func(t *testing.T, c *client.Client){
		"Login":        func(t *testing.T, c *client.Client) { c.Login(t.Context(), client.LoginParams{UserID: "u"}, decline) },
		"Logout":       func(t *testing.T, c *client.Client) { c.Logout(t.Context()) },
		"SecureLogout": func(t *testing.T, c *client.Client) { c.SecureLogout(t.Context()) },
		"Validate":     func(t *testing.T, c *client.Client) { c.Validate(t.Context()) },
		"CheckExpiry":  func(t *testing.T, c *client.Client) { c.CheckExpiry(t.Context()) },
	}
	const (
		nl = gatehouse.NotLoggedIn
		ed = gatehouse.Established
		te = gatehouse.TokenExpired
		tm = gatehouse.Terminated
	)
	want := map[gatehouse.SessionState]map[string]gatehouse.SessionState{
		nl: {"Login": ed, "Logout": nl, "SecureLogout": nl, "Validate": nl, "CheckExpiry": nl},
		ed: {"Login": ed, "Logout": nl, "SecureLogout": nl, "Validate": ed, "CheckExpiry": ed},
		// An expired token: the server refuses the secure logout, the local
		// logout drops the data but the machine only leaves tokenExpired
		// through establishing.
		te: {"Login": ed, "Logout": te, "SecureLogout": te, "Validate": te, "CheckExpiry": te},
		tm: {"Login": ed, "Logout": tm, "SecureLogout": tm, "Validate": tm, "CheckExpiry": tm},
	}
	for from, reach := range starts {
		for name, op := range ops {
			t.Run(string(from)+"/"+name, func(t *testing.T) {
				s := newServer(t)
				c := s.newClient()
				rec := observe(c)
				reach(t, s, c)
				if c.State() != from {
					t.Fatalf("setup reached %s, want %s", c.State(), from)
				}
				op(t, c)
				if got := c.State(); got != want[from][name] {
					t.Fatalf("%s from %s ended in %s, want %s", name, from, got, want[from][name])
				}
				c.Close()
				rec.legal(t)
			})
		}
	}
}
