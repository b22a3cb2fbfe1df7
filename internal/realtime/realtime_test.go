package realtime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/realtime"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/mint"
	"github.com/gatehouse-auth/gatehouse/wire"
)

type env struct {
	t       testing.TB
	svc     *session.Service
	broker  *realtime.Broker
	url     string
	httpURL string
	appID   string
	key     string
	clock   *testenv.Clock
}

func newEnv(t testing.TB, origins ...string) *env {
	t.Helper()
	return newEnvWith(t, testenv.Options{AllowedOrigins: origins})
}

func newEnvWith(t testing.TB, opts testenv.Options) *env {
	t.Helper()
	opts.Realtime = true
	g := testenv.Start(t, opts)
	return &env{t: t, svc: g.Svc, broker: g.Broker, url: g.MQTT, httpURL: g.URL, appID: g.App.ID, key: g.APIKey, clock: g.Clock}
}

type user struct {
	id, internal, token, path string
}

func (e *env) login(userID, device string) user {
	e.t.Helper()
	r, err := e.svc.Login(context.Background(), secretOf(e.key), &session.LoginInput{UserID: userID, DeviceID: device})
	if err != nil {
		e.t.Fatal(err)
	}
	return user{id: userID, internal: r.User.ID, token: r.AccessToken.Reveal(), path: wire.UserPath(e.appID, r.User.ID)}
}

// connect opens a real MQTT-over-WebSocket connection as the SDKs do.
func (e *env) connect(username, password string) (paho.Client, error) {
	return e.connectAs(fmt.Sprintf("mqttjs_ascWebSdk#%d_%s_0", time.Now().UnixNano(), username), username, password)
}

// connectAs is connect with a chosen client id.
func (e *env) connectAs(clientID, username, password string) (paho.Client, error) {
	opts := paho.NewClientOptions().AddBroker(e.url).SetUsername(username).SetPassword(password).
		SetClientID(clientID).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetCleanSession(false).
		SetWill("WillMsg", "Connection Closed abnormally..!", 0, false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return nil, fmt.Errorf("connect timed out")
	}
	return c, tok.Error()
}

func (e *env) mustConnect(u user) paho.Client {
	e.t.Helper()
	c, err := e.connect(u.internal, u.token)
	if err != nil {
		e.t.Fatalf("connect %s: %v", u.id, err)
	}
	e.t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// granted subscribes and returns the SUBACK code (128 = refused).
func granted(t testing.TB, c paho.Client, topic string) byte {
	t.Helper()
	tok := c.Subscribe(topic, 0, nil)
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("subscribe %s timed out", topic)
	}
	return tok.(*paho.SubscribeToken).Result()[topic]
}

func TestConnectAuthentication(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.login("alice", "d1"), e.login("bob", "d2")
	cases := map[string][2]string{
		"wrong password":            {alice.internal, "nope"},
		"bob's token as alice":      {alice.internal, bob.token},
		"public userId as username": {"alice", alice.token},
		"empty":                     {"", ""},
		"API key as password":       {alice.internal, e.key},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cl, err := e.connect(c[0], c[1])
			if err == nil {
				cl.Disconnect(0)
				t.Fatal("connection accepted")
			}
			// Not a dead session, just bad credentials: CONNACK 5.
			if !strings.Contains(err.Error(), "not Authorized") {
				t.Fatalf("refusal %v, want not authorized (5)", err)
			}
		})
	}
	// The SDK's long client id with '#' and its last will are accepted.
	e.mustConnect(alice)
}

func TestACL(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.login("alice", "d1"), e.login("bob", "d2")
	c := e.mustConnect(alice)
	for _, topic := range realtime.Topics(e.appID, alice.internal) {
		if g := granted(t, c, topic); g != 0 {
			t.Errorf("own topic %s refused (%d)", topic, g)
		}
	}
	for _, topic := range []string{
		bob.path,
		e.appID + "/smartfeed/" + bob.internal + "/messages",
		e.appID + "/marker/user/" + bob.internal,
		"#", "+", e.appID + "/#", e.appID + "/user/+", e.appID + "/+/" + alice.internal,
		"$SYS/#", "other-network",
	} {
		if g := granted(t, c, topic); g != 0x80 {
			t.Errorf("subscription to %s granted (%d)", topic, g)
		}
	}
	// Publishing is refused: a message alice publishes on her own topic never
	// reaches her other connection subscribed to it.
	watcher := e.mustConnect(e.login("alice", "d3"))
	got := make(chan string, 1)
	watcher.Subscribe(alice.path, 0, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
	if tok := c.Publish(alice.path, 0, false, `{"eventType":"user.didGlobalBan","data":{}}`); !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("publish timed out")
	}
	// Round trip on the watcher connection to be sure the broker handled
	// the publish before checking.
	granted(t, watcher, e.appID)
	select {
	case m := <-got:
		t.Fatalf("a client's publish was delivered: %s", m)
	default:
	}
}

// waitClosed waits until the client notices its connection is gone.
func waitClosed(t testing.TB, c paho.Client) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.IsConnectionOpen() {
		if time.Now().After(deadline) {
			t.Fatal("connection still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBanEventAndKick(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.login("alice", "d1"), e.login("bob", "d2")
	a, b := e.mustConnect(alice), e.mustConnect(bob)
	events := make(chan string, 4)
	a.Subscribe(alice.path, 0, func(_ paho.Client, m paho.Message) { events <- m.Topic() + " " + string(m.Payload()) })
	bobGot := make(chan string, 4)
	b.Subscribe(bob.path, 0, func(_ paho.Client, m paho.Message) { bobGot <- string(m.Payload()) })
	granted(t, a, e.appID)
	granted(t, b, e.appID)

	bansBefore := metrics.HistogramCount(metrics.BanEventLatency)
	if _, err := e.svc.Ban(context.Background(), e.appID, "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if !strings.HasPrefix(ev, alice.path+" ") || !strings.Contains(ev, `"eventType":"user.didGlobalBan"`) ||
			!strings.Contains(ev, `"isGlobalBan":true`) || !strings.Contains(ev, `"isGlobalBanned":true`) || !strings.Contains(ev, `"files":[]`) {
			t.Fatalf("event %s", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ban event")
	}
	waitClosed(t, a)
	// Refused for good: CONNACK 2, on which mqtt.js stops reconnecting.
	if _, err := e.connect(alice.internal, alice.token); err == nil || !strings.Contains(err.Error(), "identifier rejected") {
		t.Fatalf("banned user's reconnect: %v, want identifier rejected (2)", err)
	}
	if !b.IsConnectionOpen() {
		t.Fatal("bob was disconnected by alice's ban")
	}
	select {
	case m := <-bobGot:
		t.Fatalf("bob received %s", m)
	default:
	}
	// The ban-to-event latency histogram counted it (tests of this package
	// may ban in parallel: at least this one).
	if n := metrics.HistogramCount(metrics.BanEventLatency); n < bansBefore+1 {
		t.Fatalf("ban event latency observations: %d before, %d after", bansBefore, n)
	}
}

func TestDeleteEventOnNetworkTopic(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.login("alice", "d1"), e.login("bob", "d2")
	a, b := e.mustConnect(alice), e.mustConnect(bob)
	aliceGot, bobGot := make(chan string, 4), make(chan string, 4)
	a.Subscribe(e.appID, 0, func(_ paho.Client, m paho.Message) { aliceGot <- string(m.Payload()) })
	b.Subscribe(e.appID, 0, func(_ paho.Client, m paho.Message) { bobGot <- string(m.Payload()) })
	granted(t, a, alice.path)
	granted(t, b, bob.path)
	if _, err := e.svc.Delete(context.Background(), e.appID, "alice"); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan string{"alice": aliceGot, "bob": bobGot} {
		select {
		case m := <-ch:
			if !strings.Contains(m, `"eventType":"user.deleted"`) || !strings.Contains(m, `"userId":"alice"`) || !strings.Contains(m, `"files":[]`) {
				t.Fatalf("%s got %s", name, m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no user.deleted", name)
		}
	}
	waitClosed(t, a)
	if !b.IsConnectionOpen() {
		t.Fatal("bob was disconnected")
	}
}

func TestRevocationClosesOnlyThatSession(t *testing.T) {
	e := newEnv(t)
	phone, laptop := e.login("alice", "phone"), e.login("alice", "laptop")
	p, l := e.mustConnect(phone), e.mustConnect(laptop)
	if err := e.svc.Logout(context.Background(), phone.token); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, p)
	granted(t, l, e.appID) // still served
	if _, err := e.connect(phone.internal, phone.token); err == nil {
		t.Fatal("revoked token reconnected")
	}
}

func TestExpiryDoesNotKickButBlocksReconnect(t *testing.T) {
	e := newEnv(t)
	alice := e.login("alice", "d1")
	c := e.mustConnect(alice)
	e.clock.Advance(31 * 24 * time.Hour)
	if g := granted(t, c, alice.path); g != 0 {
		t.Fatalf("live connection lost its rights at token expiry (%d)", g)
	}
	if _, err := e.connect(alice.internal, alice.token); err == nil || !strings.Contains(err.Error(), "not Authorized") {
		t.Fatalf("reconnect with an expired token: %v, want not authorized (5): a renewed token may come", err)
	}
}

func TestOriginAllowlist(t *testing.T) {
	e := newEnv(t, "https://app.example")
	alice := e.login("alice", "d1")
	for origin, ok := range map[string]bool{"https://app.example": true, "https://evil.example": false, "null": false} {
		opts := paho.NewClientOptions().AddBroker(e.url).SetUsername(alice.internal).SetPassword(alice.token).
			SetClientID("o" + fmt.Sprint(time.Now().UnixNano())).SetProtocolVersion(4).SetAutoReconnect(false).
			SetHTTPHeaders(map[string][]string{"Origin": {origin}})
		c := paho.NewClient(opts)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if (tok.Error() == nil) != ok {
			t.Errorf("origin %s: connect error %v, want allowed=%v", origin, tok.Error(), ok)
		}
		c.Disconnect(0)
	}
}

// TestCustomerTokenAsMQTTPassword: a token the customer's backend signed
// is accepted as the MQTT password, and its secure logout closes the
// connection like a Gatehouse token's.
func TestCustomerTokenAsMQTTPassword(t *testing.T) {
	e := newEnv(t)
	secret := []byte("6b1f9e3a07c5d28f4e1a9c6b30d7f25e8a4c1f9b6e03d7a2c5f8e1b4a9d60c37")
	k, err := e.svc.AddVerificationKey(context.Background(), e.appID, session.VerificationKeyInput{Alg: "HS256", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := (&mint.Signer{NetworkID: e.appID, Alg: "HS256", Key: secret, KeyID: k.ID}).Sign("gwen")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.connect(p.UserInternalID, tok)
	if err != nil {
		t.Fatalf("customer token refused as MQTT password: %v", err)
	}
	defer c.Disconnect(0)
	if g := granted(t, c, wire.UserPath(e.appID, p.UserInternalID)); g != 0 {
		t.Fatalf("own topic refused: %d", g)
	}
	if err := e.svc.Logout(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
	if _, err := e.connect(p.UserInternalID, tok); err == nil {
		t.Fatal("revoked customer token reconnected")
	}
}
