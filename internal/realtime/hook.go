package realtime

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook is the broker's only auth hook: mochi ORs hook answers, so there is
// no other hook that could allow what this one refuses.
type hook struct {
	mqtt.HookBase
	auth  AuthFunc
	ended func(error) bool
	srv   *mqtt.Server
	log   *slog.Logger

	mu      sync.Mutex
	clients map[*mqtt.Client]Identity
	pending map[*mqtt.Client]pendingAuth // OnConnect's verdict, for OnConnectAuthenticate
	// owners maps each client id the broker holds a session for (connected
	// or kept for resumption) to the user who holds it. A session taken
	// over inherits the previous holder's subscriptions, so an id never
	// passes to another user while its session lives.
	owners map[string]owner
	// withdrawn lists signing keys taken out by emergency rotation: a
	// CONNECT verified just before cannot slip in after the sweep.
	withdrawn map[string]bool
}

// owner is who holds a client id, and the client holding it now.
type owner struct {
	user string // app and internal user id
	cl   *mqtt.Client
}

func newHook(auth AuthFunc, ended func(error) bool, srv *mqtt.Server, log *slog.Logger) *hook {
	h := &hook{auth: auth, ended: ended, srv: srv, log: log, clients: map[*mqtt.Client]Identity{},
		pending: map[*mqtt.Client]pendingAuth{}, owners: map[string]owner{}, withdrawn: map[string]bool{}}
	// The broker's own inline client: taking over its id would disconnect
	// the server's publisher.
	h.owners[mqtt.InlineClientId] = owner{user: "\x00server"}
	return h
}

type pendingAuth struct {
	id  Identity
	err error
}

var (
	errEnded   = errors.New("session ended: token revoked, or user banned or deleted")
	errIDTaken = errors.New("client id held by another user")
)

func (h *hook) ID() string { return "gatehouse-auth" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPacketRead, mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck,
		mqtt.OnDisconnect, mqtt.OnClientExpired}, []byte{b})
}

// OnPacketRead lets an empty password through to authentication, which
// refuses it with CONNACK 5 like any bad one. MQTT 3.1.1 allows a
// zero-length password; mochi refuses it as a protocol error with 0x82,
// which is no MQTT 3.1.1 return code.
func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type == packets.Connect && pk.ProtocolVersion < 5 && pk.Connect.PasswordFlag && len(pk.Connect.Password) == 0 {
		pk.Connect.PasswordFlag = false
	}
	return pk, nil
}

// OnConnect checks the access token. A token that will never work again
// (revoked, user banned or deleted) is refused here with CONNACK 2
// (identifier rejected): mqtt.js gives up on that code, where it would
// retry forever on any other. Other outcomes are left to
// OnConnectAuthenticate.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	id, err := h.auth(string(pk.Connect.Password))
	if err != nil && h.ended != nil && h.ended(err) {
		h.log.Debug("mqtt connect refused for good", "remote_addr", cl.Net.Remote, "err", err)
		h.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
		return errEnded
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil && id.UserInternalID != "" && string(pk.Connect.Username) == id.UserInternalID {
		// A client id belongs to the user who holds it: another user's
		// CONNECT with it would take over the session (and its
		// subscriptions) and knock the holder off. Refused with 2
		// (identifier rejected); the holder stays connected.
		user := id.AppID + "\x00" + id.UserInternalID
		if o, held := h.owners[cl.ID]; held && o.user != user {
			h.log.Warn("mqtt connect refused: client id held by another user", "remote_addr", cl.Net.Remote, "app_id", id.AppID, "user_id", id.UserInternalID)
			refusedClientID.Inc()
			h.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
			return errIDTaken
		}
		h.owners[cl.ID] = owner{user: user, cl: cl}
	}
	h.pending[cl] = pendingAuth{id, err}
	return nil
}

// OnConnectAuthenticate accepts a CONNECT whose password is a valid access
// token of the user named by the username (the internal _id). A refusal
// here (bad or expired token, wrong user) answers CONNACK 5 (not
// authorized) in MQTT 3.1.1: the client may retry with a renewed token.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	h.mu.Lock()
	p, ok := h.pending[cl]
	delete(h.pending, cl)
	h.mu.Unlock()
	if !ok || p.err != nil || p.id.UserInternalID == "" || string(pk.Connect.Username) != p.id.UserInternalID {
		h.log.Debug("mqtt connect refused", "remote_addr", cl.Net.Remote, "err", p.err)
		return false
	}
	h.mu.Lock()
	if p.id.KeyID != "" && h.withdrawn[p.id.KeyID] {
		h.mu.Unlock()
		return false
	}
	h.clients[cl] = p.id
	h.mu.Unlock()
	if ws, ok := cl.Net.Conn.(*wsConn); ok {
		ws.authenticated()
	}
	return true
}

// OnACLCheck allows subscriptions to the client's own topics, exactly (no
// wildcards), and no publishing at all (the SDK's last will included).
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		return false
	}
	h.mu.Lock()
	id, ok := h.clients[cl]
	h.mu.Unlock()
	if !ok {
		return false
	}
	for _, t := range Topics(id.AppID, id.UserInternalID) {
		if topic == t {
			return true
		}
	}
	return false
}

// OnDisconnect forgets the connection; a session the broker drops at once
// (clean) gives its client id back.
func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	h.mu.Lock()
	delete(h.clients, cl)
	delete(h.pending, cl)
	if expire && !cl.IsTakenOver() {
		h.release(cl)
	}
	h.mu.Unlock()
}

// OnClientExpired gives back the client id of a session the broker freed
// after its expiry.
func (h *hook) OnClientExpired(cl *mqtt.Client) {
	h.mu.Lock()
	h.release(cl)
	h.mu.Unlock()
}

// release frees cl's client id if cl still holds it (not when a newer
// connection of the same user took the session over). h.mu is held.
func (h *hook) release(cl *mqtt.Client) {
	if o, ok := h.owners[cl.ID]; ok && o.cl == cl {
		delete(h.owners, cl.ID)
	}
}

// owned returns how many client ids are held, for tests.
func (h *hook) owned() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.owners) - 1 // the inline client's
}

// match returns the connected clients whose identity satisfies keep.
func (h *hook) match(keep func(Identity) bool) []*mqtt.Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*mqtt.Client
	for cl, id := range h.clients {
		if keep(id) {
			out = append(out, cl)
		}
	}
	return out
}
