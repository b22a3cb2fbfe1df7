package ratelimit

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time            { return c.t }
func (c *clock) advance(d time.Duration)   { c.t = c.t.Add(d) }
func newClock() *clock                     { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func mustRule(t *testing.T, s string) Rule { r, err := ParseRule(s); must(t, err); return r }
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseRule(t *testing.T) {
	for in, want := range map[string]Rule{"100/5s": {100, 5 * time.Second}, "off": {}, "0": {}, " 3/1m ": {3, time.Minute}} {
		got, err := ParseRule(in)
		if err != nil || got != want {
			t.Errorf("ParseRule(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "100", "x/5s", "-1/5s", "10/0s", "10/-1s", "10/forever", "10/48h"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
	if s := (Rule{100, 5 * time.Second}).String(); s != "100/5s" {
		t.Errorf("String = %q", s)
	}
}

// The hosted service's limit, 100 requests per 5 s per user (wire spec
// §1.7): the 101st request at once is refused with the time until the next
// one is allowed, and a key's neighbours are unaffected.
func TestLimiterBurstAndRefill(t *testing.T) {
	c := newClock()
	l := New(mustRule(t, "100/5s"), 0, c.now)
	for i := range 100 {
		if ok, _ := l.Allow("app", "alice"); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, wait := l.Allow("app", "alice")
	if ok || wait != 50*time.Millisecond {
		t.Fatalf("101st: ok=%v wait=%v, want refused for 50ms", ok, wait)
	}
	if ok, _ := l.Allow("app", "bob"); !ok {
		t.Fatal("another key refused")
	}
	// Parts are separated: ("ap","palice") is not ("app","alice").
	if ok, _ := l.Allow("ap", "palice"); !ok {
		t.Fatal("a different split of the same bytes shares the bucket")
	}
	c.advance(50 * time.Millisecond)
	if ok, _ := l.Allow("app", "alice"); !ok {
		t.Fatal("refused after the refill time")
	}
	if ok, _ := New(Rule{}, 0, c.now).Allow("x"); !ok {
		t.Fatal("an off rule refused")
	}
}

// An attacker rotating keys (addresses, user ids) cannot grow the table
// past its bound, and the keys still being limited keep working.
func TestLimiterMemoryBounded(t *testing.T) {
	c := newClock()
	l := New(mustRule(t, "5/1m"), 1024, c.now)
	for i := range 100_000 {
		l.Allow(fmt.Sprint("user-", i))
	}
	if n := l.Len(); n > 1024 {
		t.Fatalf("table holds %d keys, bound 1024", n)
	}
	b := NewBackoff(mustRule(t, "1/1m"), time.Hour, 1024, c.now)
	for i := range 100_000 {
		b.Fail(fmt.Sprint("10.0.", i/256, ".", i%256))
	}
	if n := b.Len(); n > 1024 {
		t.Fatalf("back-off table holds %d keys, bound 1024", n)
	}
}

// Failures: a budget at once, then blocks that double, the right
// credential refused too while blocked, and a fresh start after a quiet
// period.
func TestBackoffGrows(t *testing.T) {
	c := newClock()
	b := NewBackoff(mustRule(t, "10/10s"), 8*time.Second, 0, c.now)
	for i := range 10 {
		if blocked, _ := b.Fail("1.2.3.4"); blocked {
			t.Fatalf("blocked after %d failures, budget 10", i+1)
		}
	}
	if blocked, _ := b.Blocked("1.2.3.4"); blocked {
		t.Fatal("blocked within budget")
	}
	var blocks []time.Duration
	for range 6 {
		blocked, d := b.Fail("1.2.3.4")
		if !blocked {
			t.Fatal("failure over budget not blocked")
		}
		if still, left := b.Blocked("1.2.3.4"); !still || left != d {
			t.Fatalf("Blocked = %v %v, want %v", still, left, d)
		}
		if blocked, _ := b.Blocked("5.6.7.8"); blocked {
			t.Fatal("another address blocked")
		}
		blocks = append(blocks, d)
		c.advance(d)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	if fmt.Sprint(blocks) != fmt.Sprint(want) {
		t.Fatalf("blocks %v, want %v", blocks, want)
	}
	// Quiet for the longest block and the whole refill: a fresh budget.
	c.advance(20 * time.Second)
	for i := range 10 {
		if blocked, _ := b.Fail("1.2.3.4"); blocked {
			t.Fatalf("blocked after %d failures following a quiet period", i+1)
		}
	}
	if _, d := b.Fail("1.2.3.4"); d != time.Second {
		t.Fatalf("first block after a quiet period %v, want 1s", d)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParseProxies("10.0.0.0/8, 127.0.0.1")
	must(t, err)
	if _, err := ParseProxies("10.0.0.0/8,nonsense"); err == nil {
		t.Fatal("bad proxy list accepted")
	}
	cases := []struct {
		name    string
		proxies Proxies
		remote  string
		xff     []string
		want    string
	}{
		{"peer", nil, "203.0.113.7:5555", nil, "203.0.113.7"},
		// SECURITY.md case 73: without trusted proxies the header is ignored.
		{"spoofed header ignored", nil, "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"untrusted peer's header ignored", trusted, "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy", trusted, "10.1.2.3:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		// The client prepends a fake; the proxy appends the real peer.
		{"client-prepended entry ignored", trusted, "10.1.2.3:5555", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", trusted, "127.0.0.1:5555", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"garbage in header", trusted, "10.1.2.3:5555", []string{"not-an-ip"}, "10.1.2.3"},
		{"ipv6 by /64", nil, "[2001:db8:1:2:aaaa::1]:443", nil, "2001:db8:1:2::/64"},
		{"ipv4-mapped", nil, "[::ffff:203.0.113.7]:1", nil, "203.0.113.7"},
	}
	for _, tc := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := tc.proxies.ClientAddr(r); got != tc.want {
			t.Errorf("%s: ClientAddr = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(Rule{Burst: 1 << 30, Per: time.Second}, 0, nil)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow("app", fmt.Sprint(i%5000))
			i++
		}
	})
}
