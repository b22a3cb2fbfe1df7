package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// liveSDK is an official-SDK process with realtime enabled (realtime.js).
type liveSDK struct {
	logs   *bytes.Buffer // the server's log, shown when a wait fails
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan liveEvent
}

type liveEvent struct {
	Event         string `json:"event"`
	State         string `json:"state"`
	At            int64  `json:"at"`
	OK            bool   `json:"ok"`
	Error         string `json:"error"`
	Connected     bool   `json:"connected"`
	MQTTConnected bool   `json:"mqttConnected"`
	Refused       bool   `json:"refused"`
	Code          int    `json:"code"`
}

func startLiveSDK(t *testing.T, s *server, apiKey, userID string) *liveSDK {
	t.Helper()
	dir := requireSDK(t)
	cfg, _ := json.Marshal(map[string]string{"http": s.URL, "mqtt": strings.Replace(s.URL, "http://", "ws://", 1) + "/mqtt", "apiKey": apiKey, "userId": userID})
	cmd := exec.Command("node", "realtime.js", string(cfg))
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &liveSDK{t: t, cmd: cmd, stdin: stdin, events: make(chan liveEvent, 100), logs: s.logs}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e liveEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				l.events <- e
			}
		}
		close(l.events)
	}()
	t.Cleanup(func() {
		io.WriteString(stdin, "exit\n")
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	return l
}

// next returns the next event of the given kind, failing after timeout.
func (l *liveSDK) next(kind string, timeout time.Duration) liveEvent {
	l.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-l.events:
			if !ok {
				l.t.Fatalf("SDK process ended while waiting for %q", kind)
			}
			if e.Event == "crash" {
				l.t.Fatalf("SDK crashed: %s", e.Error)
			}
			if e.Event == kind {
				return e
			}
		case <-deadline:
			if l.logs != nil {
				l.t.Logf("server log:\n%s", l.logs)
			}
			l.t.Fatalf("no %q event from the SDK within %s", kind, timeout)
		}
	}
}

// nextState returns the next state change.
func (l *liveSDK) nextState(want string, timeout time.Duration) liveEvent {
	l.t.Helper()
	for {
		e := l.next("state", timeout)
		if e.State == want {
			return e
		}
	}
}

func (l *liveSDK) send(cmd string) { io.WriteString(l.stdin, cmd+"\n") }

// connected waits until the SDK logged in and its MQTT client connected.
func (l *liveSDK) connected() {
	l.t.Helper()
	if e := l.next("login", 20*time.Second); !e.OK {
		l.t.Fatalf("login failed: %s", e.Error)
	}
	if e := l.next("mqtt", 20*time.Second); !e.Connected {
		l.t.Fatal("the SDK's MQTT client did not connect")
	}
}

// TestOfficialSDKRealtimeBan: the official SDK with realtime on logs in;
// the user is banned through the CLI; its onSessionStateChange reports
// terminated within one second; a reconnect with its token is refused; a
// second user logged in at the same time stays established.
func TestOfficialSDKRealtimeBan(t *testing.T) {
	testRealtimeEnd(t, "ban")
}

// TestOfficialSDKRealtimeDelete: the same with deletion (user.deleted on the
// network topic terminates only the deleted user).
func TestOfficialSDKRealtimeDelete(t *testing.T) {
	testRealtimeEnd(t, "delete")
}

func testRealtimeEnd(t *testing.T, verb string) {
	s := startServer(t)
	appID, apiKey := newSDKApp(t, s)
	alice := startLiveSDK(t, s, apiKey, "alice")
	bob := startLiveSDK(t, s, apiKey, "bob")
	alice.connected()
	bob.connected()

	start := time.Now()
	s.cliJSON("user", verb, appID, "alice")
	// The bound runs from the CLI's return (the change is committed), not
	// from its start: spawning the CLI process alone can take a good part of
	// a second on a loaded 2-core CI machine, and says nothing about how
	// fast a ban reaches a live session.
	committed := time.Now()
	alice.nextState("terminated", 5*time.Second)
	if elapsed := time.Since(committed); elapsed > time.Second {
		t.Fatalf("terminated %s after the %s command returned, want within 1 s", elapsed, verb)
	}
	t.Logf("%s: the SDK reported terminated %s after the CLI was started, %s after it returned",
		verb, time.Since(start), time.Since(committed))

	// Refused with CONNACK 2, the one code after which mqtt.js stops retrying.
	alice.send("reconnect")
	if e := alice.next("reconnect", 10*time.Second); !e.Refused || e.Code != 2 {
		t.Fatalf("reconnect with the %s user's token: %+v, want refused with code 2", verb, e)
	}

	bob.send("status")
	if e := bob.next("status", 5*time.Second); e.State != "established" || !e.MQTTConnected {
		t.Fatalf("the other user after alice's %s: %+v", verb, e)
	}
	// The ban path's histogram counts the delivery.
	if verb == "ban" {
		m := s.scrape()
		if h := m["gatehouse_realtime_ban_event_seconds"]; h == nil || h.Metric[0].GetHistogram().GetSampleCount() != 1 || h.Metric[0].GetHistogram().GetSampleSum() <= 0 {
			t.Fatalf("ban histogram after one ban: %v", h)
		}
	}
}
