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
}

type pendingAuth struct {
	id  Identity
	err error
}

var errEnded = errors.New("session ended: token revoked, or user banned or deleted")

func (h *hook) ID() string { return "gatehouse-auth" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnDisconnect}, []byte{b})
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
	h.pending[cl] = pendingAuth{id, err}
	h.mu.Unlock()
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
	h.clients[cl] = p.id
	h.mu.Unlock()
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

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	h.mu.Lock()
	delete(h.clients, cl)
	delete(h.pending, cl)
	h.mu.Unlock()
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
