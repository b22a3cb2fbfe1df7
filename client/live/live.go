// Package live is the realtime part of the Gatehouse Go SDK: an MQTT 3.1.1
// connection over WebSocket, as the social.plus SDKs open it, through which
// the server reports that the user was banned (user.didGlobalBan on the
// user's topic) or deleted (user.deleted on the network topic). Give
// New's result to client.Config.Realtime; the client connects after login,
// moves to terminated with reason globalBan or userDeleted on those events,
// and reconnects with back-off after network loss.
//
// This is the only package of the SDK that holds an MQTT client.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/client"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// Options configures the live connection.
type Options struct {
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles
	// from one to the other (1 s and 8 s when zero, as mqtt.js in the
	// social.plus SDKs).
	MinBackoff, MaxBackoff time.Duration
	// OnConnect, when set, is called after each (re)connection.
	OnConnect func()
	// Logger receives debug logs; nothing is logged when nil.
	Logger *slog.Logger
}

type live struct{ opts Options }

// New returns the realtime connector for client.Config.Realtime.
func New(opts Options) client.Realtime {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = 8 * time.Second
	}
	return &live{opts: opts}
}

// Start connects in the background and returns at once.
func (l *live) Start(ctx context.Context, s client.RealtimeSession, terminate func(gatehouse.TerminationReason)) func() {
	log := l.opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	topics := map[string]byte{}
	for _, t := range []string{s.NetworkID, s.Path} {
		topics[t] = 0
	}
	onMessage := func(_ paho.Client, m paho.Message) {
		var ev wire.Event
		if json.Unmarshal(m.Payload(), &ev) != nil {
			return
		}
		switch ev.EventType {
		case wire.EventUserBanned:
			// Only ever sent on the user's own topic.
			if m.Topic() == s.Path {
				terminate(gatehouse.ReasonGlobalBan)
			}
		case wire.EventUserDeleted:
			if len(ev.Data.Users) > 0 && ev.Data.Users[0].UserID == s.UserID {
				terminate(gatehouse.ReasonUserDeleted)
			}
		}
	}
	opts := paho.NewClientOptions().
		AddBroker(s.URL).
		SetClientID(fmt.Sprintf("mqttjs_%s_%s_0", s.DeviceID, s.InternalID)).
		SetProtocolVersion(4).
		SetCleanSession(false).
		SetCredentialsProvider(func() (string, string) { return s.InternalID, s.Token() }).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(l.opts.MinBackoff).
		SetMaxReconnectInterval(l.opts.MaxBackoff).
		SetKeepAlive(60 * time.Second).
		SetDefaultPublishHandler(onMessage).
		SetOnConnectHandler(func(c paho.Client) {
			// Resubscribe on every connection: the broker keeps no state we
			// rely on.
			c.SubscribeMultiple(topics, onMessage)
			log.Debug("realtime connected", "url", redact(s.URL))
			if l.opts.OnConnect != nil {
				l.opts.OnConnect()
			}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			log.Debug("realtime connection lost", "err", err)
		})
	c := paho.NewClient(opts)
	c.Connect() // retries in the background (SetConnectRetry)
	return func() { c.Disconnect(250) }
}

func redact(u string) string {
	if i := strings.Index(u, "?"); i >= 0 {
		return u[:i]
	}
	return u
}
