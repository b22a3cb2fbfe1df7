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

// TestSilentSocketsSoak is fault 2: WebSockets upgraded at /mqtt that never
// sent CONNECT stayed open forever, and ~20,000 of them exhausted the file
// handles until every request timed out. Here thousands of silent sockets
// from several loopback addresses fill the caps on unauthenticated sockets;
// logins and validations keep succeeding meanwhile, upgrades past the caps
// are refused before any socket is kept, and the server closes each silent
// socket at the CONNECT deadline.
func TestSilentSocketsSoak(t *testing.T) {
	const (
		perAddr = 250
		addrs   = 8 // 127.0.0.2 …; the first also probes the per-address cap
		total   = addrs * perAddr
		timeout = 15 * time.Second // longer than filling and the HTTP checks take, on 2 loaded cores under -race
	)
	raiseFileLimit(t, 3*total+1024) // both ends of each socket in this process, and slack
	e := newEnvWith(t, testenv.Options{Broker: realtime.Config{ConnectTimeout: timeout, MaxPending: total, MaxPendingPerAddr: perAddr}})

	var (
		mu      sync.Mutex
		held    []*websocket.Conn
		opened  []time.Time
		refused = map[int]int{} // HTTP status -> count
	)
	open := func(addr string) {
		// Before the dial: the server's deadline starts later than this.
		start := time.Now()
		c, res, err := dialWS(e.url, addr)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			held = append(held, c)
			opened = append(opened, start)
		case res != nil:
			refused[res.StatusCode]++
			body, _ := io.ReadAll(res.Body)
			var env struct {
				Status string
				Code   int
			}
			if json.Unmarshal(body, &env) != nil || env.Status != "error" || res.Header.Get("Retry-After") == "" {
				t.Errorf("refusal %d without the error envelope or Retry-After: %s", res.StatusCode, body)
			}
		default:
			t.Errorf("dial from %s: %v", addr, err)
		}
	}
	fillStart := time.Now()
	// One address up to its cap, then once more: 429.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	spread := func(addr string, n int) {
		for range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() { defer wg.Done(); defer func() { <-sem }(); open(addr) }()
		}
	}
	spread("127.0.0.2", perAddr)
	wg.Wait()
	open("127.0.0.2")
	if refused[http.StatusTooManyRequests] != 1 {
		t.Fatalf("the per-address cap did not refuse: %v", refused)
	}
	// The others up to the total cap, then one more from a new address: 503.
	for i := 3; i < 2+addrs; i++ {
		spread(fmt.Sprintf("127.0.0.%d", i), perAddr)
	}
	wg.Wait()
	open(fmt.Sprintf("127.0.0.%d", 2+addrs))
	fill := time.Since(fillStart)
	t.Logf("%d silent sockets held, refused %v, in %v", len(held), refused, fill.Round(time.Millisecond))
	if fill > timeout/2 {
		t.Fatalf("filling took %v, too close to the %v deadline for the counts below to mean anything", fill, timeout)
	}
	if len(held) != total || refused[http.StatusServiceUnavailable] != 1 {
		t.Fatalf("held %d, refused %v; want %d held and the rest refused with 503", len(held), refused, total)
	}
	if p := e.broker.Pending(); p != total {
		t.Fatalf("pending %d, want %d", p, total)
	}

	// A real client is refused while the server is full…
	alice := e.login("alice", "d1")
	if _, err := e.connect(alice.internal, alice.token); err == nil {
		t.Fatal("an upgrade past the total cap was accepted")
	}
	// …while the HTTP API answers: logins and validations.
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
	if d := time.Since(fillStart); d >= timeout {
		t.Fatalf("the HTTP checks ended %v after the first socket opened, past its deadline: they did not run while the caps were full", d)
	}

	// Every silent socket is closed at its deadline, not before.
	closedAt := make([]time.Time, len(held))
	for i, c := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(timeout + 30*time.Second))
			_, _, err := c.ReadMessage()
			closedAt[i] = time.Now()
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Errorf("socket %d not closed by the server", i)
			}
			c.Close()
		}()
	}
	wg.Wait()
	var late time.Duration
	for i := range held {
		d := closedAt[i].Sub(opened[i])
		if d < timeout {
			t.Fatalf("socket %d closed after %v, before the %v deadline", i, d, timeout)
		}
		late = max(late, d-timeout)
	}
	t.Logf("closed at most %v after the deadline", late.Round(time.Millisecond))
	waitFor(t, 10*time.Second, "the pending count to return to zero", func() bool { return e.broker.Pending() == 0 })
	e.mustConnect(alice)
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
