package realtime

import (
	"encoding/json"
	"errors"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/wire"
)

var (
	errBanned  = errors.New("user banned")
	errDeleted = errors.New("user deleted")
	errRevoked = errors.New("session revoked")
	errKeyGone = errors.New("signing key withdrawn")
)

// UserBanned publishes user.didGlobalBan on the user's own topic (never the
// network topic: the SDKs act on it without checking whose ban it is),
// written to each of the user's connections before they are closed.
func (b *Broker) UserBanned(u gatehouse.User) {
	w := wire.NewUser(&u)
	payload, _ := json.Marshal(wire.NewUserEvent(wire.EventUserBanned, w))
	clients := b.hook.match(func(id Identity) bool { return id.AppID == u.AppID && id.UserInternalID == u.ID })
	b.deliverAndClose(clients, w.Path, payload, errBanned)
	d := time.Since(u.UpdatedAt)
	metrics.BanEventLatency.Observe(d.Seconds())
	b.log.Info("ban event delivered", "app_id", u.AppID, "user_internal_id", u.ID, "connections", len(clients), "since_commit_ms", float64(d.Microseconds())/1000)
}

// UserDeleted publishes user.deleted on the network topic (every client of
// the network gets it; the SDKs act only when it names their own user),
// then closes the deleted user's connections.
func (b *Broker) UserDeleted(u gatehouse.User) {
	w := wire.NewUser(&u)
	payload, _ := json.Marshal(wire.NewUserEvent(wire.EventUserDeleted, w))
	clients := b.hook.match(func(id Identity) bool { return id.AppID == u.AppID && id.UserInternalID == u.ID })
	b.deliverAndClose(clients, u.AppID, payload, errDeleted)
	if err := b.srv.Publish(u.AppID, payload, false, 0); err != nil {
		b.log.Error("publish user.deleted", "err", err)
	}
	b.log.Info("delete event delivered", "app_id", u.AppID, "user_internal_id", u.ID, "connections", len(clients))
}

// SessionsRevoked closes the connections that authenticated with any of the
// sessions. Their tokens are refused from now on, so they cannot come back.
func (b *Broker) SessionsRevoked(appID string, sessionIDs []string) {
	set := make(map[string]bool, len(sessionIDs))
	for _, id := range sessionIDs {
		set[id] = true
	}
	for _, cl := range b.hook.match(func(id Identity) bool { return id.AppID == appID && set[id.SessionID] }) {
		cl.Stop(errRevoked)
	}
}

// SigningKeysWithdrawn closes the connections that authenticated with a
// Gatehouse token signed by one of the keys (emergency rotation): those
// tokens are refused from now on, so they cannot come back.
func (b *Broker) SigningKeysWithdrawn(kids []string) {
	b.hook.mu.Lock()
	for _, k := range kids {
		b.hook.withdrawn[k] = true
	}
	b.hook.mu.Unlock()
	clients := b.hook.match(func(id Identity) bool { return id.KeyID != "" && b.hook.withdrawn[id.KeyID] })
	for _, cl := range clients {
		cl.Stop(errKeyGone)
	}
	b.log.Info("connections closed by signing-key withdrawal", "keys", len(kids), "connections", len(clients))
}

// deliverAndClose writes a PUBLISH directly to each of the user's own
// connections, synchronously, and closes them after the grace period (the
// SDKs close them sooner themselves, on the event). The event is written
// even if the client's SUBSCRIBE for the topic has not been processed yet
// (an SDK that has just connected): the topic is the client's own, and
// mqtt.js hands every PUBLISH it receives to the SDK. The user's token is
// refused from the start, so the connection cannot be re-established.
func (b *Broker) deliverAndClose(clients []*mqtt.Client, topic string, payload []byte, cause error) {
	for _, cl := range clients {
		pk := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Publish},
			TopicName:   topic,
			Payload:     payload,
		}
		if err := cl.WritePacket(pk); err != nil {
			b.log.Debug("write event", "err", err)
		}
		time.AfterFunc(b.grace, func() { cl.Stop(cause) })
	}
}
