package realtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// wsListener adapts the WebSocket connections our HTTP server upgrades to
// mochi's listener interface: it opens no socket of its own.
type wsListener struct {
	id        string
	mu        sync.Mutex
	establish listeners.EstablishFn
	ready     chan struct{} // closed once Serve has the establish function
	readyOnce sync.Once
	done      chan struct{}
	once      sync.Once
}

func newWSListener(id string) *wsListener {
	return &wsListener{id: id, ready: make(chan struct{}), done: make(chan struct{})}
}

var _ listeners.Listener = (*wsListener)(nil)

func (l *wsListener) ID() string              { return l.id }
func (l *wsListener) Address() string         { return "/mqtt" }
func (l *wsListener) Protocol() string        { return "ws" }
func (l *wsListener) Init(*slog.Logger) error { return nil }

// Serve records the broker's establish function and returns at Close.
func (l *wsListener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	l.establish = establish
	l.mu.Unlock()
	l.readyOnce.Do(func() { close(l.ready) })
	<-l.done
}

// establishFn returns the broker's establish function, waiting for the
// broker to start (the HTTP server may accept before it has: a client that
// connects right at startup waits rather than getting a 503), or nil once
// the listener is closed or ctx ends.
func (l *wsListener) establishFn(ctx context.Context) listeners.EstablishFn {
	select {
	case <-l.ready:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	default:
	}
	return l.establish
}

// Close stops accepting and closes the listener's clients.
func (l *wsListener) Close(closeClients listeners.CloseFn) {
	l.once.Do(func() { close(l.done) })
	closeClients(l.id)
}

// wsConn is a WebSocket carrying MQTT in binary messages, as a net.Conn.
type wsConn struct {
	net.Conn
	c    *websocket.Conn
	r    io.Reader
	slot *slot // in the count of unauthenticated sockets until authenticated
}

// authenticated takes the connection out of the count of unauthenticated
// sockets.
func (ws *wsConn) authenticated() { ws.slot.release() }

var errNotBinary = errors.New("websocket message is not binary")

func (ws *wsConn) Read(p []byte) (int, error) {
	for {
		if ws.r == nil {
			op, r, err := ws.c.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errNotBinary
			}
			ws.r = r
		}
		n, err := ws.r.Read(p)
		if errors.Is(err, io.EOF) {
			ws.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (ws *wsConn) Write(p []byte) (int, error) {
	if err := ws.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends a WebSocket close frame before closing the connection, so that
// the client reads everything written before it (a ban event in particular)
// as a normal close rather than a reset.
func (ws *wsConn) Close() error {
	ws.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return ws.Conn.Close()
}
