package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServeRealtimeBounds: the realtime bounds and the server-key origins
// reach the broker and the HTTP API from serve's flags. Silent sockets are
// closed at --mqtt-connect-timeout, and one address gets no more than
// --mqtt-max-pending-per-addr of them at once.
func TestServeRealtimeBounds(t *testing.T) {
	const timeout = 700 * time.Millisecond
	s := &server{t: t, data: t.TempDir(), logs: &bytes.Buffer{}, extra: []string{"--mqtt-connect-timeout", timeout.String(), "--mqtt-max-pending-per-addr", "3",
		"--server-key-origins", "https://backoffice.example"}}
	s.start()
	ws := "ws" + strings.TrimPrefix(s.URL, "http") + "/mqtt"
	dial := func() (*websocket.Conn, *http.Response, error) {
		d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 10 * time.Second}
		return d.Dial(ws, nil)
	}
	var held []*websocket.Conn
	start := time.Now()
	for range 3 {
		c, res, err := dial()
		if err != nil {
			if res != nil {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("%v: %d %s", err, res.StatusCode, b)
			}
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	_, res, err := dial()
	if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a fourth silent socket from one address: %v %v, want 429", err, res)
	}
	body, _ := io.ReadAll(res.Body)
	wantErrorBody(t, res.StatusCode, body, 429, 400311)
	for i, c := range held {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, _, err := c.ReadMessage(); err == nil {
			t.Fatalf("socket %d: a message instead of a close", i)
		} else if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			t.Fatalf("socket %d not closed by the server", i)
		}
	}
	if d := time.Since(start); d < timeout {
		t.Fatalf("silent sockets closed after %v, before the %v deadline", d, timeout)
	}
	// The slots are free again.
	c, _, err := dial()
	if err != nil {
		t.Fatalf("after the silent sockets were closed: %v", err)
	}
	c.Close()

	// Server keys: refused from a browser origin, unless allowed.
	app := s.cliJSON("app", "create", "Demo")
	sk := s.cliJSON("server-key", "create", app["appId"].(string))["serverKey"].(string)
	st, body := s.call("POST", "/api/v4/authentication/token", `{"userId":"alice"}`, "x-server-key", sk, "Origin", "https://evil.example")
	wantErrorBody(t, st, body, 403, 400300)
	if st, body := s.call("POST", "/api/v4/authentication/token", `{"userId":"alice"}`, "x-server-key", sk, "Origin", "https://backoffice.example"); st != 200 {
		t.Fatalf("allowed origin: %d %s", st, body)
	}
}
