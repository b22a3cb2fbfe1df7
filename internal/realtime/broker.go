// Package realtime is Gatehouse's MQTT 3.1.1 broker over WebSocket, served
// at /mqtt on the server's own HTTP port, as the social.plus SDKs expect
// (wire spec §13). It embeds mochi-mqtt.
//
// Clients connect with their internal user id as username and an access
// token as password, may subscribe only to their own topics, and may
// publish nothing. The server publishes user.didGlobalBan on a banned
// user's topic and user.deleted on the network topic, then closes the
// user's connections; revoking a session closes the connections that
// authenticated with it, and an emergency key rotation those whose token's
// key it withdrew.
//
// Hardening: an upgraded socket must send CONNECT within a deadline and
// counts against caps on unauthenticated sockets (total and per client
// address) until it authenticates; disconnected clean=false sessions
// expire; a client id belongs to the user holding its session.
package realtime

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/gatehouse-auth/gatehouse/wire"
)

// Identity is who an access token belongs to.
type Identity struct {
	AppID          string // the network id
	UserInternalID string // internal id: the MQTT username
	SessionID      string
	// KeyID is the kid of the signing key of a Gatehouse access token
	// (empty for customer-signed tokens): emergency rotation closes the
	// connections whose key it withdrew.
	KeyID string
}

// AuthFunc verifies an access token, with the same rules as the HTTP API
// (revocations, bans and deletions included).
type AuthFunc func(token string) (Identity, error)

// Config configures the broker.
type Config struct {
	// AllowedOrigins lists the browser origins allowed to open the
	// WebSocket; "*" allows any. Requests without an Origin header
	// (non-browser clients) are always allowed: the MQTT password, not a
	// cookie, authenticates them.
	AllowedOrigins []string
	// Ended classifies an AuthFunc error: true when the token will never
	// work again (revoked, user banned or deleted). Those CONNECTs are
	// refused with return code 2 (identifier rejected), the one refusal
	// after which mqtt.js stops reconnecting; others get 5 (not
	// authorized), after which it retries and may bring a renewed token.
	Ended func(error) bool
	// CloseGrace is how long a banned or deleted user's connection stays
	// open after its event was written, so the client reads the event
	// before the close (mqtt.js drops data still queued when the socket
	// closes); the SDKs disconnect by themselves on the event. 1 s when
	// zero.
	CloseGrace time.Duration
	// ConnectTimeout is how long an upgraded WebSocket may take to send a
	// complete CONNECT; it is closed after. 5 s when zero.
	ConnectTimeout time.Duration
	// MaxPending caps the upgraded WebSockets that have not authenticated
	// yet, in total (1024 when zero) and per client address (64 when
	// zero); further upgrades are refused with 503 (total) or 429 (per
	// address) before any socket is kept. Negative: no cap.
	MaxPending, MaxPendingPerAddr int
	// ClientAddr names a request's client for the per-address cap (the
	// rate limiter's, which knows trusted proxies); the TCP peer when nil.
	ClientAddr func(*http.Request) string
	// SessionExpiry is how long the broker keeps the session of a client
	// that connected with clean=false (the SDKs do) after it disconnects,
	// for it to resume; then it is freed. 60 s when zero; negative: freed
	// at once (within the broker's one-second sweep).
	SessionExpiry time.Duration
}

// Defaults of Config.
const (
	DefaultConnectTimeout    = 5 * time.Second
	DefaultMaxPending        = 1024
	DefaultMaxPendingPerAddr = 64
	DefaultSessionExpiry     = time.Minute
)

// Broker is the embedded MQTT broker.
type Broker struct {
	log            *slog.Logger
	srv            *mqtt.Server
	hook           *hook
	ln             *wsListener
	origins        map[string]bool
	anyOrig        bool
	grace          time.Duration
	connectTimeout time.Duration
	pending        *pendingLimit
	lastRefusalLog atomic.Int64 // unix second of the last refusal warning
	clientAddr     func(*http.Request) string
}

// New returns a broker. Call Run to start it and mount it (ServeHTTP) at /mqtt.
func New(log *slog.Logger, cfg Config, auth AuthFunc) (*Broker, error) {
	b := &Broker{log: log, origins: map[string]bool{}, grace: cfg.CloseGrace, connectTimeout: cfg.ConnectTimeout, clientAddr: cfg.ClientAddr}
	if b.clientAddr == nil {
		b.clientAddr = peerAddr
	}
	if b.grace <= 0 {
		b.grace = time.Second
	}
	if b.connectTimeout <= 0 {
		b.connectTimeout = DefaultConnectTimeout
	}
	b.pending = newPendingLimit(orDefault(cfg.MaxPending, DefaultMaxPending), orDefault(cfg.MaxPendingPerAddr, DefaultMaxPendingPerAddr))
	expiry := cfg.SessionExpiry
	if expiry == 0 {
		expiry = DefaultSessionExpiry
	}
	caps := mqtt.NewDefaultServerCapabilities()
	// mochi keeps a disconnected clean=false session for up to 136 years by
	// default: every SDK connection left one behind (~35 KB each).
	caps.MaximumSessionExpiryInterval = uint32(max(expiry, 0) / time.Second)
	// Each client gets an outbound queue of this many packets, allocated
	// up front (8,192 pointers by default). Events for a user's own topic
	// are written directly; the queue carries only network-topic events.
	caps.MaximumClientWritesPending = 256
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			b.anyOrig = true
		}
		b.origins[strings.TrimRight(o, "/")] = true
	}
	b.srv = mqtt.New(&mqtt.Options{
		InlineClient: true,
		Capabilities: caps,
		// The logger already carries component=realtime: a second
		// "component" would be a duplicate key in a JSON line.
		Logger: log.With("module", "mochi-mqtt"),
	})
	b.hook = newHook(auth, cfg.Ended, b.srv, log)
	if err := b.srv.AddHook(b.hook, nil); err != nil {
		return nil, err
	}
	b.ln = newWSListener("ws")
	if err := b.srv.AddListener(b.ln); err != nil {
		return nil, err
	}
	return b, nil
}

// Run serves until ctx ends, then disconnects every client.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.srv.Serve(); err != nil {
		return err
	}
	<-ctx.Done()
	return b.srv.Close()
}

var upgrader = websocket.Upgrader{
	Subprotocols:    []string{"mqtt"},
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// The Origin is checked by ServeHTTP against the allowlist.
	CheckOrigin: func(*http.Request) bool { return true },
}

// ServeHTTP upgrades GET /mqtt to a WebSocket and hands it to the broker:
// the Broker is the handler mounted at /mqtt.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && !b.anyOrig && !b.origins[strings.TrimRight(o, "/")] {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	wait, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	establish := b.ln.establishFn(wait)
	cancel()
	if establish == nil {
		http.Error(w, "realtime is not running", http.StatusServiceUnavailable)
		return
	}
	// Until it authenticates, a socket is held against the caps on
	// unauthenticated sockets: tens of thousands of silent WebSockets
	// once exhausted the process's file handles.
	addr := b.clientAddr(r)
	slot, refusal := b.pending.acquire(addr)
	if refusal != nil {
		b.refuse(w, r, refusal)
		return
	}
	defer slot.release()
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer c.Close()
	// The HTTP server's read and write deadlines outlive the hijack.
	// Reading gets the CONNECT deadline; from the CONNECT on the broker
	// manages keepalive deadlines itself.
	c.UnderlyingConn().SetDeadline(time.Time{})
	c.UnderlyingConn().SetReadDeadline(time.Now().Add(b.connectTimeout))
	c.SetReadLimit(256 << 10)
	if err := establish(b.ln.id, &wsConn{Conn: c.UnderlyingConn(), c: c, slot: slot}); err != nil && !errors.Is(err, net.ErrClosed) {
		b.log.Debug("mqtt connection ended", "err", err)
	}
}

// Sessions returns how many client sessions the broker holds, connected
// or kept for resumption.
func (b *Broker) Sessions() int {
	return b.srv.Clients.Len() - 1 // the inline client is not a session
}

// Pending returns how many upgraded sockets have not authenticated yet.
func (b *Broker) Pending() int { return b.pending.count() }

// Topics returns the topics a user may subscribe to: exactly those the
// social.plus SDKs subscribe to for their own user (wire spec §13.2).
func Topics(networkID, userID string) []string {
	return []string{
		networkID,
		networkID + "/smartfeed/" + userID + "/channels",
		networkID + "/smartfeed/" + userID + "/messagefeeds",
		networkID + "/smartfeed/" + userID + "/messages",
		wire.UserPath(networkID, userID),
		networkID + "/marker/user/" + userID,
		networkID + "/videostreaming",
	}
}

// Ready reports whether the realtime listener takes connections.
func (b *Broker) Ready() error {
	select {
	case <-b.ln.done:
		return errors.New("the realtime listener is closed")
	default:
	}
	select {
	case <-b.ln.ready:
		return nil
	default:
		return errors.New("the realtime listener has not started")
	}
}

// Connections reports the MQTT connections open now.
func (b *Broker) Connections() int64 { return b.srv.Info.ClientsConnected }
