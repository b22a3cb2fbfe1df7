package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Region is a social.plus region.
type Region string

// The social.plus regions.
const (
	RegionSG Region = "sg" // Singapore, the default
	RegionEU Region = "eu"
	RegionUS Region = "us"
)

// Endpoint is where the client connects. Empty fields take the region's
// social.plus host.
type Endpoint struct {
	HTTP string // e.g. "https://gatehouse.example.com"
	MQTT string // e.g. "wss://gatehouse.example.com/mqtt"
}

// RegionEndpoint returns the social.plus hosts of a region.
func RegionEndpoint(r Region) (Endpoint, error) {
	switch r {
	case RegionSG, RegionEU, RegionUS:
		return Endpoint{HTTP: "https://apix." + string(r) + ".amity.co", MQTT: "wss://sse." + string(r) + ".amity.co:443/mqtt"}, nil
	}
	return Endpoint{}, fmt.Errorf("client: unknown region %q (want sg, eu or us)", r)
}

// Defaults of the renewal schedule, as in the social.plus SDKs.
const (
	DefaultRenewThreshold = 0.8
	DefaultCheckInterval  = 10 * time.Minute
	DefaultRetryDelay     = 10 * time.Minute
	// ExpiryMargin is subtracted from the token lifetime: a token counts as
	// expired this long before its expiresAt.
	ExpiryMargin = 5 * time.Minute
)

// Config configures a Client.
type Config struct {
	// APIKey identifies the app (required).
	APIKey string
	// Region selects the social.plus hosts; RegionSG when empty. Endpoint
	// fields override it.
	Region   Region
	Endpoint Endpoint
	// DeviceID identifies this device; one session per device. When empty,
	// the saved session's device id is used, else a new "goSdk#<uuid>".
	DeviceID string
	// DeviceInfo is reported at login; Kind defaults to "go".
	DeviceInfo gatehouse.DeviceInfo
	// Store saves the session for Restore. Nil: nothing is saved.
	Store SessionStore
	// HTTPClient makes the requests; a client with a 30 s timeout when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RenewThreshold is the fraction of the token lifetime (less
	// ExpiryMargin) after which renewal is asked for; 0.8 when zero.
	RenewThreshold float64
	// CheckInterval is how often expiry is checked in the background; 10
	// minutes when zero. Negative: no background checks (call CheckExpiry).
	CheckInterval time.Duration
	// RetryDelay is how long after UnableToRetrieveAuthToken (or a failed
	// access-token handler) the handler is asked again; 10 minutes when zero.
	RetryDelay time.Duration
	// Logger receives debug logs; nothing is logged when nil.
	Logger *slog.Logger
	// Realtime, when set, keeps a live connection while the session is
	// established (see package client/live), so bans and deletions end the
	// session at once.
	Realtime Realtime
}

// SDKVersion is reported in deviceInfo.sdkVersion.
const SDKVersion = "gatehouse-go/0.1"

// Client is a social.plus-compatible client session.
type Client struct {
	cfg      Config
	base     *url.URL
	http     *http.Client
	now      func() time.Time
	log      *slog.Logger
	deviceID string

	mu       sync.Mutex
	state    gatehouse.SessionState
	sess     *session // nil unless a token is held
	renewing bool
	retryAt  time.Time
	handler  SessionHandler
	tokenH   AccessTokenHandler
	closed   bool

	obs     observers
	rtStop  func()          // stops the live connection, if any
	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	loopWG  sync.WaitGroup
	gen     uint64    // bumped for every renewal handed out or used; voids old ones
	sessGen uint64    // bumped whenever the session is replaced or dropped
	renewAt time.Time // when the outstanding renewal was handed out
}

// session is what a logged-in client holds.
type session struct {
	userID      string // public id
	internalID  string
	path        string
	loginType   loginType
	userType    gatehouse.UserType // signed-in, visitor or bot
	accessToken string
	issuedAt    time.Time
	expiresAt   time.Time
	authParams  LoginParams // for renewals: userId (displayName and authToken dropped)
}

type loginType string

const (
	loginDefault     loginType = "default"
	loginAccessToken loginType = "accessToken"
	loginVisitor     loginType = "visitor"
	loginBot         loginType = "bot"
)

// readOnly reports whether the session is a visitor's or a bot's.
func (s *session) readOnly() bool { return s.userType.ReadOnly() }

// New returns a client in state notLoggedIn.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("client: APIKey is required")
	}
	ep := cfg.Endpoint
	if cfg.Region == "" {
		cfg.Region = RegionSG
	}
	if ep.HTTP == "" || ep.MQTT == "" {
		def, err := RegionEndpoint(cfg.Region)
		if err != nil {
			return nil, err
		}
		if ep.HTTP == "" {
			ep.HTTP = def.HTTP
		}
		if ep.MQTT == "" {
			ep.MQTT = def.MQTT
		}
	}
	cfg.Endpoint = ep
	base, err := url.Parse(strings.TrimRight(ep.HTTP, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("client: bad HTTP endpoint %q", ep.HTTP)
	}
	c := &Client{cfg: cfg, base: base, http: cfg.HTTPClient, now: cfg.Now, log: cfg.Logger, state: gatehouse.NotLoggedIn}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(discardHandler{})
	}
	if c.cfg.RenewThreshold <= 0 || c.cfg.RenewThreshold >= 1 {
		c.cfg.RenewThreshold = DefaultRenewThreshold
	}
	if c.cfg.CheckInterval == 0 {
		c.cfg.CheckInterval = DefaultCheckInterval
	}
	if c.cfg.RetryDelay <= 0 {
		c.cfg.RetryDelay = DefaultRetryDelay
	}
	if c.cfg.DeviceInfo.Kind == "" {
		c.cfg.DeviceInfo.Kind = "go"
	}
	if c.cfg.DeviceInfo.SDKVersion == "" {
		c.cfg.DeviceInfo.SDKVersion = SDKVersion
	}
	c.deviceID = cfg.DeviceID
	if c.cfg.CheckInterval > 0 {
		c.loopWG.Add(1)
		go c.expiryLoop()
	}
	return c, nil
}

// DeviceID returns the device id the client logs in with.
func (c *Client) DeviceID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deviceIDLocked()
}

func (c *Client) deviceIDLocked() string {
	if c.deviceID == "" {
		c.deviceID = "goSdk#" + newUUID()
	}
	return c.deviceID
}

// State returns the current session state.
func (c *Client) State() gatehouse.SessionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Tokens is the access token the client holds.
type Tokens struct {
	AccessToken string
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

// Token returns the held access token; ok is false when there is none.
func (c *Client) Token() (Tokens, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return Tokens{}, false
	}
	return Tokens{AccessToken: c.sess.accessToken, IssuedAt: c.sess.issuedAt, ExpiresAt: c.sess.expiresAt}, true
}

// UserID returns the public id of the logged-in user, or "".
func (c *Client) UserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return ""
	}
	return c.sess.userID
}

// setStateLocked moves the state machine; every state change goes through
// here, and through gatehouse.Transition, so an illegal move is impossible.
// It queues the change for the observers. c.mu must be held.
func (c *Client) setStateLocked(to gatehouse.SessionState, reason gatehouse.TerminationReason) error {
	from := c.state
	if _, err := gatehouse.Transition(from, to); err != nil {
		return err
	}
	c.state = to
	switch to {
	case gatehouse.Established:
		if from == gatehouse.Establishing {
			defer c.startRealtimeLocked() // after c.sess is in place
		}
	case gatehouse.NotLoggedIn, gatehouse.Terminated:
		c.stopRealtimeLocked()
	}
	ev := StateChange{From: from, To: to}
	if to == gatehouse.Terminated {
		ev.Reason = reason
	}
	c.obs.publish(ev)
	c.log.Debug("session state", "from", string(from), "to", string(to), "reason", string(ev.Reason))
	return nil
}

// Close stops background work and observer delivery. The session is kept
// (and saved, if a store is configured); Close does not log out.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.stopRealtimeLocked()
	c.cancel()
	c.mu.Unlock()
	c.loopWG.Wait()
	c.obs.close()
	return nil
}

func (c *Client) expiryLoop() {
	defer c.loopWG.Done()
	t := time.NewTicker(c.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
			c.CheckExpiry(ctx)
			cancel()
		}
	}
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

func shortDigest(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:8])
}
