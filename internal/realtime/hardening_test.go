package realtime_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/realtime"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/mint"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// customerToken registers an HS256 key and signs a token for userID; it
// returns the token and the user's internal id (the MQTT username).
func (e *env) customerToken(userID string) (tok, internal string) {
	e.t.Helper()
	secret := []byte("6b1f9e3a07c5d28f4e1a9c6b30d7f25e8a4c1f9b6e03d7a2c5f8e1b4a9d60c37")
	k, err := e.svc.AddVerificationKey(context.Background(), e.appID, session.VerificationKeyInput{Alg: "HS256", Secret: secret})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err = (&mint.Signer{NetworkID: e.appID, Alg: "HS256", Key: secret, KeyID: k.ID}).Sign(userID)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.svc.Authenticate(context.Background(), tok)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok, p.UserInternalID
}

// swapLast swaps the last character of a token's signature for one that
// decodes to the same bytes (an HS256 signature is 43 characters: the last
// carries 4 bits and 2 unused ones).
func swapLast(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[v^1])
}

// TestReencodedTokenRefusedOnMQTT is fault 1 on /mqtt: a logged-out
// customer token with its last character swapped got CONNACK 0, and CR or
// LF inside the password were ignored by the base64 decoder.
func TestReencodedTokenRefusedOnMQTT(t *testing.T) {
	e := newEnv(t)
	tok, internal := e.customerToken("mallory")
	// Live token, other texts of it: refused as malformed (CONNACK 5).
	for name, v := range map[string]string{
		"LF":      tok[:10] + "\n" + tok[10:],
		"CR":      tok[:len(tok)-5] + "\r" + tok[len(tok)-5:],
		"CRLF":    tok + "\r\n",
		"swapped": swapLast(tok),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.connect(internal, v)
			if err == nil {
				c.Disconnect(0)
				t.Fatal("connection accepted")
			}
			if !strings.Contains(err.Error(), "not Authorized") {
				t.Fatalf("refusal %v, want not authorized (5)", err)
			}
		})
	}
	c, err := e.connect(internal, tok)
	if err != nil {
		t.Fatalf("the token itself: %v", err)
	}
	c.Disconnect(0)
	if err := e.svc.Logout(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{tok, swapLast(tok), tok + "\n"} {
		if c, err := e.connect(internal, v); err == nil {
			c.Disconnect(0)
			t.Fatalf("logged-out token %q accepted", v[len(v)-4:])
		}
	}
}

// connectPacket is an MQTT 3.1.1 CONNECT, written by hand so that tests can
// send what a library would not (an empty password with its flag set).
func connectPacket(clientID, username, password string, clean, passwordFlag bool) []byte {
	str := func(b []byte, s string) []byte { return append(append(b, byte(len(s)>>8), byte(len(s))), s...) }
	flags := byte(0)
	if username != "" {
		flags |= 0x80
	}
	if passwordFlag {
		flags |= 0x40
	}
	if clean {
		flags |= 0x02
	}
	body := str(nil, "MQTT")
	body = append(body, 4, flags, 0, 60) // level 4 (3.1.1), flags, keepalive 60 s
	body = str(body, clientID)
	if username != "" {
		body = str(body, username)
	}
	if passwordFlag {
		body = str(body, password)
	}
	pk := []byte{0x10}
	for n := len(body); ; {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			pk = append(pk, b|0x80)
			continue
		}
		pk = append(pk, b)
		break
	}
	return append(pk, body...)
}

// dialWS opens a WebSocket at /mqtt, from local address laddr when set
// (Linux routes all of 127.0.0.0/8 to loopback, so tests can be several
// clients).
func dialWS(url, laddr string) (*websocket.Conn, *http.Response, error) {
	nd := &net.Dialer{Timeout: 10 * time.Second}
	if laddr != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(laddr)}
	}
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 10 * time.Second, NetDialContext: nd.DialContext}
	return d.Dial(url, nil)
}

// rawConnect sends a CONNECT and returns the CONNACK return code.
func rawConnect(c *websocket.Conn, pk []byte) (byte, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.WriteMessage(websocket.BinaryMessage, pk); err != nil {
		return 0, err
	}
	_, b, err := c.ReadMessage()
	if err != nil {
		return 0, err
	}
	if len(b) != 4 || b[0] != 0x20 || b[1] != 2 {
		return 0, fmt.Errorf("not a CONNACK: % x", b)
	}
	return b[3], nil
}

// TestEmptyPasswordConnack: a CONNECT with the password flag and an empty
// password got CONNACK 130 (mochi's MQTT 5 "protocol error"), which MQTT
// 3.1.1 clients do not know. It is a bad credential: 5.
func TestEmptyPasswordConnack(t *testing.T) {
	e := newEnv(t)
	alice := e.login("alice", "d1")
	for name, pk := range map[string][]byte{
		"empty password with its flag": connectPacket("c1", alice.internal, "", false, true),
		"no password":                  connectPacket("c2", alice.internal, "", false, false),
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := dialWS(e.url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			code, err := rawConnect(c, pk)
			if err != nil || code != 5 {
				t.Fatalf("CONNACK %d, %v; want 5 (not authorized)", code, err)
			}
		})
	}
}

// TestClientIDOwnership is fault 10: any logged-in user could knock
// another off MQTT by connecting with the victim's client id (and, with
// clean=false, inherit the victim's subscriptions). The id belongs to the
// user holding it as long as the broker keeps its session.
func TestClientIDOwnership(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.login("alice", "d1"), e.login("bob", "d2")
	const id = "mqttjs_ascWebSdk#1_alice_0"
	a, err := e.connectAs(id, alice.internal, alice.token)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Disconnect(0)
	granted(t, a, alice.path)
	before := refusalCount(t, "client_id_taken")
	if c, err := e.connectAs(id, bob.internal, bob.token); err == nil || !strings.Contains(err.Error(), "identifier rejected") {
		if c != nil {
			c.Disconnect(0)
		}
		t.Fatalf("bob with alice's client id: %v, want identifier rejected (2)", err)
	}
	if n := refusalCount(t, "client_id_taken") - before; n != 1 {
		t.Errorf("refusals counted: %v, want 1", n)
	}
	// Alice is still connected and still served.
	if !a.IsConnectionOpen() {
		t.Fatal("alice was knocked off")
	}
	if g := granted(t, a, e.appID); g != 0 {
		t.Fatalf("alice's connection no longer served: %d", g)
	}
	// Alice from another device (a new token) may take her own id over.
	alice2 := e.login("alice", "d3")
	a2, err := e.connectAs(id, alice2.internal, alice2.token)
	if err != nil {
		t.Fatalf("alice's own takeover: %v", err)
	}
	waitClosed(t, a)
	// After she disconnects, the broker keeps her session (clean=false) for
	// resumption, and the id stays hers.
	a2.Disconnect(0)
	if c, err := e.connectAs(id, bob.internal, bob.token); err == nil {
		c.Disconnect(0)
		t.Fatal("bob took over alice's kept session")
	}
	// The broker's own inline client id is nobody's.
	if c, err := e.connectAs("inline", bob.internal, bob.token); err == nil {
		c.Disconnect(0)
		t.Fatal("a client took the inline client's id")
	}
}

// TestClientIDFreedWithSession: once the session expires nothing is left
// to inherit, and the id may go to anyone.
func TestClientIDFreedWithSession(t *testing.T) {
	e := newEnvWith(t, testenv.Options{Broker: realtime.Config{SessionExpiry: -1}})
	alice, bob := e.login("alice", "d1"), e.login("bob", "d2")
	const id = "shared-id"
	a, err := e.connectAs(id, alice.internal, alice.token)
	if err != nil {
		t.Fatal(err)
	}
	a.Disconnect(0)
	waitFor(t, 10*time.Second, "alice's session to expire", func() bool { return e.broker.Sessions() == 0 })
	b, err := e.connectAs(id, bob.internal, bob.token)
	if err != nil {
		t.Fatalf("bob with an expired session's id: %v", err)
	}
	b.Disconnect(0)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEmergencyRotationClosesMQTT is fault 5: after an emergency rotation
// REST refused the old tokens while their MQTT connections stayed open.
func TestEmergencyRotationClosesMQTT(t *testing.T) {
	e := newEnv(t)
	alice := e.login("alice", "d1")
	a := e.mustConnect(alice)
	custTok, custID := e.customerToken("carol")
	c, err := e.connect(custID, custTok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(0)
	// Graceful rotation: old tokens stay valid, connections stay open.
	if _, err := e.svc.RotateSigningKey(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	granted(t, a, alice.path)
	bob := e.login("bob", "d2") // signed by the new key
	b := e.mustConnect(bob)
	if _, err := e.svc.RotateSigningKey(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, a)
	waitClosed(t, b)
	if _, err := e.connect(alice.internal, alice.token); err == nil {
		t.Fatal("a token of a withdrawn key reconnected")
	}
	// Customer tokens are not signed by the ring: untouched.
	if g := granted(t, c, wire.UserPath(e.appID, custID)); g != 0 || !c.IsConnectionOpen() {
		t.Fatalf("customer-token connection closed by the rotation (%d)", g)
	}
	// New logins connect.
	e.mustConnect(e.login("alice", "d1"))
}

// refusalCount reads gatehouse_realtime_refusals_total{reason}.
func refusalCount(t testing.TB, reason string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_realtime_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
