package live_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/client"
	"github.com/gatehouse-auth/gatehouse/client/live"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

type env struct {
	t      *testing.T
	svc    *session.Service
	appID  string
	apiKey string
	url    string // http://host:port of the server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	g := testenv.Start(t, testenv.Options{Realtime: true})
	return &env{t: t, svc: g.Svc, appID: g.App.ID, apiKey: g.APIKey, url: g.URL}
}

// liveClient logs a user in with realtime on and waits for the connection.
func (e *env) liveClient(userID, base string) (*client.Client, chan client.StateChange, chan struct{}) {
	e.t.Helper()
	connected := make(chan struct{}, 10)
	c, err := client.New(client.Config{
		APIKey:        e.apiKey,
		Endpoint:      client.Endpoint{HTTP: base, MQTT: "ws" + strings.TrimPrefix(base, "http") + "/mqtt"},
		CheckInterval: -1,
		Realtime: live.New(live.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			OnConnect: func() { connected <- struct{}{} }}),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	changes := make(chan client.StateChange, 20)
	c.Observe(func(ev client.StateChange) { changes <- ev })
	if err := c.Login(context.Background(), client.LoginParams{UserID: userID}, nil); err != nil {
		e.t.Fatal(err)
	}
	waitFor(e.t, connected, "realtime connection")
	return c, changes, connected
}

func waitFor[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

func wantTerminated(t *testing.T, changes chan client.StateChange, reason gatehouse.TerminationReason) {
	t.Helper()
	for {
		ev := waitFor(t, changes, "terminated")
		if ev.To == gatehouse.Terminated {
			if ev.Reason != reason {
				t.Fatalf("terminated with reason %q, want %q", ev.Reason, reason)
			}
			return
		}
	}
}

func TestBanTerminates(t *testing.T) {
	e := newEnv(t)
	_, aliceCh, _ := e.liveClient("alice", e.url)
	bob, _, _ := e.liveClient("bob", e.url)
	if _, err := e.svc.Ban(context.Background(), e.appID, "alice"); err != nil {
		t.Fatal(err)
	}
	wantTerminated(t, aliceCh, gatehouse.ReasonGlobalBan)
	if bob.State() != gatehouse.Established {
		t.Fatalf("bob: %s", bob.State())
	}
}

func TestDeleteTerminates(t *testing.T) {
	e := newEnv(t)
	_, aliceCh, _ := e.liveClient("alice", e.url)
	bob, _, _ := e.liveClient("bob", e.url)
	if _, err := e.svc.Delete(context.Background(), e.appID, "alice"); err != nil {
		t.Fatal(err)
	}
	wantTerminated(t, aliceCh, gatehouse.ReasonUserDeleted)
	if err := bob.Validate(context.Background()); err != nil || bob.State() != gatehouse.Established {
		t.Fatalf("bob after alice's deletion: %s %v", bob.State(), err)
	}
}

// TestReconnectsAfterNetworkLoss cuts the connection between client and
// server; the client reconnects on its own and still hears a ban.
func TestReconnectsAfterNetworkLoss(t *testing.T) {
	e := newEnv(t)
	p := newProxy(t, strings.TrimPrefix(e.url, "http://"))
	_, ch, connected := e.liveClient("carol", "http://"+p.addr())
	p.cut()
	waitFor(t, connected, "reconnection after the cut")
	if _, err := e.svc.Ban(context.Background(), e.appID, "carol"); err != nil {
		t.Fatal(err)
	}
	wantTerminated(t, ch, gatehouse.ReasonGlobalBan)
}

// proxy forwards TCP connections and can cut them all.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
