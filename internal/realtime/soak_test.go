package realtime_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gatehouse-auth/gatehouse/internal/realtime"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// raiseFileLimit makes sure the process may hold n more descriptors.
func raiseFileLimit(t testing.TB, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("RLIMIT_NOFILE hard limit %d is below the %d descriptors this test needs", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}

// silent opens WebSockets at /mqtt that never send anything.
type silent struct {
	t       testing.TB
	url     string
	mu      sync.Mutex
	held    []*websocket.Conn
	opened  []time.Time // before each dial: the server's deadline starts later
	refused map[int]int // HTTP status -> count
}

func (s *silent) open(addr string) {
	start := time.Now()
	c, res, err := dialWS(s.url, addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.held = append(s.held, c)
		s.opened = append(s.opened, start)
	case res != nil:
		s.refused[res.StatusCode]++
		body, _ := io.ReadAll(res.Body)
		var env struct {
			Status string
			Code   int
		}
		if json.Unmarshal(body, &env) != nil || env.Status != "error" || res.Header.Get("Retry-After") == "" {
			s.t.Errorf("refusal %d without the error envelope or Retry-After: %s", res.StatusCode, body)
		}
	default:
		s.t.Errorf("dial from %s: %v", addr, err)
	}
}

// spread opens n sockets from addr, 16 dials at a time, and waits.
func (s *silent) spread(n int, addrs ...string) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, addr := range addrs {
		for range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() { defer wg.Done(); defer func() { <-sem }(); s.open(addr) }()
		}
	}
	wg.Wait()
}

func loopback(from, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("127.0.0.%d", from+i))
	}
	return out
}

// TestSilentSocketsSoak is fault 2: WebSockets upgraded at /mqtt that never
// sent CONNECT stayed open forever, and ~20,000 of them exhausted the file
// handles until every request timed out. Here 2,000 silent sockets from
// eight loopback addresses fill the caps on unauthenticated sockets;
// upgrades past the caps are refused before any socket is kept, and logins
// and validations keep succeeding meanwhile. (The CONNECT deadline is long
// here, so that filling can take what it takes on a loaded machine;
// TestSilentSocketsClosedAtDeadline checks the deadline.)
func TestSilentSocketsSoak(t *testing.T) {
	const (
		perAddr = 250
		addrs   = 8 // 127.0.0.2 …; the first also probes the per-address cap
		total   = addrs * perAddr
	)
	raiseFileLimit(t, 3*total+1024) // both ends of each socket in this process, and slack
	e := newEnvWith(t, testenv.Options{Broker: realtime.Config{ConnectTimeout: time.Hour, MaxPending: total, MaxPendingPerAddr: perAddr}})
	s := &silent{t: t, url: e.url, refused: map[int]int{}}
	refusedBefore := refusalCount(t, "pending_total") + refusalCount(t, "pending_address")
	fillStart := time.Now()
	// One address up to its cap, then once more: 429.
	s.spread(perAddr, "127.0.0.2")
	s.open("127.0.0.2")
	if s.refused[http.StatusTooManyRequests] != 1 {
		t.Fatalf("the per-address cap did not refuse: %v", s.refused)
	}
	// The others up to the total cap, then one more from a new address: 503.
	s.spread(perAddr, loopback(3, addrs-1)...)
	s.open(fmt.Sprintf("127.0.0.%d", 2+addrs))
	t.Logf("%d silent sockets held, refused %v, in %v", len(s.held), s.refused, time.Since(fillStart).Round(time.Millisecond))
	if len(s.held) != total || s.refused[http.StatusServiceUnavailable] != 1 {
		t.Fatalf("held %d, refused %v; want %d held and one more refused with 503", len(s.held), s.refused, total)
	}
	if p := e.broker.Pending(); p != total {
		t.Fatalf("pending %d, want %d", p, total)
	}
	if n := refusalCount(t, "pending_total") + refusalCount(t, "pending_address") - refusedBefore; n != 2 {
		t.Errorf("refusals counted: %v, want 2", n)
	}

	// A real client is refused while the server is full…
	alice := e.login("alice", "d1")
	if _, err := e.connect(alice.internal, alice.token); err == nil {
		t.Fatal("an upgrade past the total cap was accepted")
	}
	// …while the HTTP API answers: logins and validations.
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				u := e.httpLogin(fmt.Sprintf("user-%d-%d", i, j))
				if u == "" {
					failures.Add(1)
					continue
				}
				for range 5 {
					if !e.httpValidate(u) {
						failures.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d logins or validations failed while the caps were full", n)
	}
	if p := e.broker.Pending(); p != total {
		t.Fatalf("pending %d after the HTTP checks, want %d: the caps were not full throughout", p, total)
	}
	// Sockets that go away give their slots back.
	for _, c := range s.held {
		c.Close()
	}
	waitFor(t, 30*time.Second, "the pending count to return to zero", func() bool { return e.broker.Pending() == 0 })
	e.mustConnect(alice)
}

// TestSilentSocketsClosedAtDeadline: the server closes each silent socket
// at the CONNECT deadline, not before, and frees its slot.
func TestSilentSocketsClosedAtDeadline(t *testing.T) {
	const (
		n       = 250
		addrs   = 4
		timeout = time.Second
	)
	raiseFileLimit(t, 3*n*addrs+1024)
	e := newEnvWith(t, testenv.Options{Broker: realtime.Config{ConnectTimeout: timeout, MaxPending: -1, MaxPendingPerAddr: -1}})
	s := &silent{t: t, url: e.url, refused: map[int]int{}}
	// Each socket waits for the server's close as soon as it is open.
	s.spread(n, loopback(2, addrs)...)
	if len(s.held) != n*addrs {
		t.Fatalf("held %d, refused %v", len(s.held), s.refused)
	}
	closedAt := make([]time.Time, len(s.held))
	var wg sync.WaitGroup
	for i, c := range s.held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, _, err := c.ReadMessage()
			closedAt[i] = time.Now()
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Errorf("socket %d not closed by the server within a minute", i)
			}
			c.Close()
		}()
	}
	wg.Wait()
	var late time.Duration
	for i := range s.held {
		d := closedAt[i].Sub(s.opened[i])
		if d < timeout {
			t.Fatalf("socket %d closed %v after its dial started, before the %v deadline", i, d, timeout)
		}
		late = max(late, d-timeout)
	}
	t.Logf("%d sockets closed, the last %v after its deadline", len(s.held), late.Round(time.Millisecond))
	waitFor(t, 30*time.Second, "the pending count to return to zero", func() bool { return e.broker.Pending() == 0 })
	e.mustConnect(e.login("alice", "d1"))
}

// httpLogin logs userID in over HTTP and returns the access token, or "".
func (e *env) httpLogin(userID string) string {
	body, _ := json.Marshal(map[string]string{"userId": userID, "deviceId": "d-" + userID})
	req, _ := http.NewRequest("POST", e.httpURL+"/api/v5/sessions", bytes.NewReader(body))
	req.Header.Set("X-API-Key", e.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		e.t.Errorf("login %s: %v", userID, err)
		return ""
	}
	defer res.Body.Close()
	var s struct{ AccessToken string }
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&s) != nil {
		e.t.Errorf("login %s: %d", userID, res.StatusCode)
		return ""
	}
	return s.AccessToken
}

func (e *env) httpValidate(tok string) bool {
	req, _ := http.NewRequest("GET", e.httpURL+"/api/v3/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := httpClient.Do(req)
	if err != nil {
		e.t.Errorf("validate: %v", err)
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == 200
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// TestCleanFalseSessionsFreed is fault 4: the session of every client that
// connected with clean=false (the SDKs do) was kept forever, ~35 KB each.
// 10,000 connect/disconnect cycles with unique client ids: every session
// is freed after the expiry, and the heap after GC is where it started.
func TestCleanFalseSessionsFreed(t *testing.T) {
	const cycles = 10_000
	e := newEnvWith(t, testenv.Options{Broker: realtime.Config{SessionExpiry: -1}})
	alice := e.login("alice", "d1")
	cycle := func(id string) error {
		c, _, err := dialWS(e.url, "")
		if err != nil {
			return err
		}
		defer c.Close()
		code, err := rawConnect(c, connectPacket(id, alice.internal, alice.token, false, true))
		if err != nil || code != 0 {
			return fmt.Errorf("CONNACK %d, %v", code, err)
		}
		return c.WriteMessage(websocket.BinaryMessage, []byte{0xe0, 0}) // DISCONNECT
	}
	run := func(prefix string, n int) {
		var wg sync.WaitGroup
		var failed atomic.Int32
		next := atomic.Int64{}
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					if err := cycle(fmt.Sprintf("%s-%d", prefix, i)); err != nil {
						if failed.Add(1) == 1 {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.Fatalf("%d cycles failed", failed.Load())
		}
	}
	settle := func() uint64 {
		waitFor(t, 15*time.Second, "every session to expire", func() bool { return e.broker.Sessions() == 0 })
		waitFor(t, 5*time.Second, "every client id to be given back", func() bool { return realtime.OwnedClientIDs(e.broker) == 0 })
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	run("warmup", 500)
	before := settle()
	start := time.Now()
	run("cycle", cycles)
	t.Logf("%d cycles in %v", cycles, time.Since(start).Round(time.Millisecond))
	after := settle()
	growth := int64(after) - int64(before)
	t.Logf("heap after GC: %d KiB before, %d KiB after (%+d KiB)", before>>10, after>>10, growth>>10)
	// Kept sessions cost ~35 KB each: 10,000 would be ~350 MB. The bound
	// leaves room for noise and is still a tenth of one leak per cycle.
	if growth > 16<<20 {
		t.Fatalf("heap grew by %d MiB over %d cycles", growth>>20, cycles)
	}
}
