package realtime

import (
	"bytes"
	"log/slog"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook is the broker's only auth hook: mochi ORs hook answers, so there is
// no other hook that could allow what this one refuses.
type hook struct {
	mqtt.HookBase
	auth AuthFunc
	log  *slog.Logger

	mu      sync.Mutex
	clients map[*mqtt.Client]Identity
}

func (h *hook) ID() string { return "gatehouse-auth" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnDisconnect}, []byte{b})
}

// OnConnectAuthenticate accepts a CONNECT whose password is a valid access
// token of the user named by the username (the internal _id). Any refusal
// answers CONNACK 4 (bad user name or password) in MQTT 3.1.1.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	id, err := h.auth(string(pk.Connect.Password))
	if err != nil || id.UserID == "" || string(pk.Connect.Username) != id.UserID {
		h.log.Debug("mqtt connect refused", "remote_addr", cl.Net.Remote, "err", err)
		return false
	}
	h.mu.Lock()
	h.clients[cl] = id
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
	for _, t := range Topics(id.AppID, id.UserID) {
		if topic == t {
			return true
		}
	}
	return false
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	h.mu.Lock()
	delete(h.clients, cl)
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
