// Package testenv starts a real Gatehouse in-process for tests: a SQLite
// store on a temp file, the session service, the realtime broker, and the
// HTTP API on an httptest server. It also holds the settable clock the
// tests share with the server. It is imported only by tests.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/jwks"
	"github.com/gatehouse-auth/gatehouse/internal/realtime"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// Clock is a settable clock, safe for concurrent use, so that tests move
// time for the server and the client without sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// SealKey seals HMAC secrets in tests.
var SealKey = []byte("0123456789abcdef0123456789abcdef")

// Options configure Start.
type Options struct {
	// Clock drives the server; a new one at the current time when nil.
	Clock *Clock
	// Realtime serves /mqtt with the embedded broker.
	Realtime bool
	// AllowedOrigins for /mqtt ("*" when empty).
	AllowedOrigins []string
	// Broker configures the realtime broker beyond the origins; the close
	// grace is 50 ms unless set.
	Broker realtime.Config
	// StrictJWKS refuses http and private JWKS URLs, as in production.
	StrictJWKS bool
	// Log receives the server's logs; discarded when nil.
	Log *slog.Logger
}

// Server is a running in-process Gatehouse with one app.
type Server struct {
	URL    string // http://127.0.0.1:port
	MQTT   string // ws://127.0.0.1:port/mqtt
	Svc    *session.Service
	Broker *realtime.Broker // nil without Options.Realtime
	DB     *sqlite.DB
	Clock  *Clock
	App    gatehouse.App
	APIKey string

	srv *httptest.Server
}

// Start starts a server and registers its shutdown with tb.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, stop, err := start(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return s
}

// StartExample starts a server for an Example function, which has no
// testing.TB; call stop when done. It panics on failure.
func StartExample() (s *Server, stop func()) {
	dir, err := os.MkdirTemp("", "gatehouse-example")
	if err != nil {
		panic(err)
	}
	s, stopServer, err := start(dir, Options{})
	if err != nil {
		panic(err)
	}
	return s, func() { stopServer(); os.RemoveAll(dir) }
}

func start(dir string, opts Options) (*Server, func(), error) {
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		return nil, nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	clk := opts.Clock
	if clk == nil {
		clk = NewClock(time.Now().UTC())
	}
	// The broker, when there is one, is built first and given to the
	// service as its publisher; it authenticates through the service.
	var (
		svc *session.Service
		b   *realtime.Broker
	)
	if opts.Realtime {
		origins := opts.AllowedOrigins
		if len(origins) == 0 {
			origins = []string{"*"}
		}
		// A short grace keeps tests that wait for the server's close quick.
		cfg := opts.Broker
		cfg.AllowedOrigins, cfg.Ended = origins, session.Ended
		if cfg.CloseGrace == 0 {
			cfg.CloseGrace = 50 * time.Millisecond
		}
		var err error
		b, err = realtime.New(log, cfg, func(tok string) (realtime.Identity, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p, err := svc.AuthenticateRealtime(ctx, tok)
			return realtime.Identity{AppID: p.AppID, UserInternalID: p.UserInternalID, SessionID: p.SessionID, KeyID: p.KeyID}, err
		})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	scfg := session.Config{Now: clk.Now, SealKey: SealKey,
		KeyFetcher: jwks.New(jwks.Options{AllowPrivate: !opts.StrictJWKS, Now: clk.Now})}
	if b != nil {
		scfg.Publisher = b
	}
	svc = session.New(db, log, scfg)
	if err := svc.Load(context.Background()); err != nil {
		db.Close()
		return nil, nil, err
	}
	s := &Server{Svc: svc, DB: db, Clock: clk}
	var rt httpapi.Realtime
	stopBroker := func() {}
	if b != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { b.Run(ctx); close(done) }()
		s.Broker, rt, stopBroker = b, b, func() { cancel(); <-done }
	}
	s.srv = httptest.NewUnstartedServer(httpapi.NewHandler(log, svc, rt, httpapi.Options{}))
	httpapi.Harden(s.srv.Config)
	s.srv.Start()
	s.URL = s.srv.URL
	s.MQTT = "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/mqtt"
	stop := func() {
		s.srv.Close()
		stopBroker()
		db.Close()
	}
	a, key, err := svc.CreateApp(context.Background(), "test app")
	if err != nil {
		stop()
		return nil, nil, err
	}
	s.App, s.APIKey = a, key.Reveal()
	return s, stop, nil
}

// HTTP returns the underlying test server.
func (s *Server) HTTP() *httptest.Server { return s.srv }
