// Package ratelimit holds the server's request limits: token buckets keyed
// by user, app or client address (golang.org/x/time/rate underneath), and a
// failure back-off that blocks a client address for a growing time once it
// has spent its budget of failed credentials.
//
// Both keep their state in a table of fixed maximum size, so an attacker
// who rotates addresses or user ids cannot grow the limiter's memory: keys
// are reduced to a 64-bit keyed hash (the seed is random per process, so
// collisions cannot be aimed), and a full table first forgets entries that
// carry no information any more (a full bucket, an expired block), then
// random ones. Forgetting an entry only ever gives its key a fresh budget.
package ratelimit

import (
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rule is a token bucket: Burst events at once, refilled at Burst per
// Per. The zero Rule (or a zero Burst) means no limit.
type Rule struct {
	Burst int
	Per   time.Duration
}

// Off reports whether the rule limits nothing.
func (r Rule) Off() bool { return r.Burst <= 0 || r.Per <= 0 }

// String formats the rule as ParseRule reads it ("100/5s", or "off").
func (r Rule) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.Itoa(r.Burst) + "/" + r.Per.String()
}

func (r Rule) limit() rate.Limit { return rate.Limit(float64(r.Burst) / r.Per.Seconds()) }

// ParseRule reads "N/DURATION" (N events per DURATION, at most N at
// once: "100/5s", "20000/1s") or "off".
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Rule{}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	if !ok {
		return Rule{}, fmt.Errorf("rate limit %q: want N/DURATION (e.g. 100/5s) or off", s)
	}
	burst, err := strconv.Atoi(n)
	if err != nil || burst <= 0 || burst > 1<<30 {
		return Rule{}, fmt.Errorf("rate limit %q: N must be a positive integer", s)
	}
	per, err := time.ParseDuration(d)
	if err != nil || per <= 0 || per > 24*time.Hour {
		return Rule{}, fmt.Errorf("rate limit %q: DURATION must be a Go duration between 0 and 24h (e.g. 5s, 1m)", s)
	}
	return Rule{Burst: burst, Per: per}, nil
}

// shards splits each table so that concurrent requests rarely wait on the
// same mutex.
const shards = 32

// DefaultMaxKeys is the default table size: about 100 bytes an entry, so a
// few MiB per table at most.
const DefaultMaxKeys = 1 << 16

type keyer struct{ seed maphash.Seed }

func (k keyer) hash(parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(k.seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// table is a sharded map from hashed keys, bounded in size.
type table[V any] struct {
	keyer  keyer
	perShd int
	shards [shards]shard[V]
}

type shard[V any] struct {
	mu sync.Mutex
	m  map[uint64]V
}

func (t *table[V]) init(maxKeys int) {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	t.keyer = keyer{maphash.MakeSeed()}
	t.perShd = max(1, maxKeys/shards)
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]V)
	}
}

// shard returns the hashed key of parts and its shard.
func (t *table[V]) shard(parts ...string) (uint64, *shard[V]) {
	k := t.keyer.hash(parts...)
	return k, &t.shards[k%shards]
}

// Len returns the number of keys remembered.
func (t *table[V]) Len() int {
	n := 0
	for i := range t.shards {
		t.shards[i].mu.Lock()
		n += len(t.shards[i].m)
		t.shards[i].mu.Unlock()
	}
	return n
}

// Limiter is a token bucket per key. It is safe for concurrent use.
type Limiter struct {
	table[*rate.Limiter]
	rule Rule
	now  func() time.Time
}

// New returns a Limiter applying rule to each key, remembering at most
// maxKeys keys (DefaultMaxKeys when 0). now is the clock (time.Now when
// nil).
func New(rule Rule, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{rule: rule, now: now}
	l.init(maxKeys)
	return l
}

// Rule returns the limiter's rule.
func (l *Limiter) Rule() Rule { return l.rule }

// Allow takes one event for the key made of parts. When the key's bucket
// is empty it returns false and how long until one event is allowed again.
func (l *Limiter) Allow(parts ...string) (bool, time.Duration) {
	if l == nil || l.rule.Off() {
		return true, 0
	}
	k, sh := l.shard(parts...)
	now := l.now()
	sh.mu.Lock()
	lim := sh.m[k]
	if lim == nil {
		if len(sh.m) >= l.perShd {
			evictLimiters(sh.m, now, l.rule.Burst)
		}
		lim = rate.NewLimiter(l.rule.limit(), l.rule.Burst)
		sh.m[k] = lim
	}
	ok := lim.AllowN(now, 1)
	var wait time.Duration
	if !ok {
		wait = untilOne(lim.TokensAt(now), l.rule.limit())
	}
	sh.mu.Unlock()
	return ok, wait
}

// untilOne is how long a bucket holding tokens takes to hold one.
func untilOne(tokens float64, r rate.Limit) time.Duration {
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) / float64(r) * float64(time.Second)))
}

// evictLimiters makes room in a full shard: full buckets first (they are
// what a new entry would be), then, if none, an eighth of the entries in
// map order.
func evictLimiters(m map[uint64]*rate.Limiter, now time.Time, burst int) {
	before := len(m)
	for k, lim := range m {
		if lim.TokensAt(now) >= float64(burst) {
			delete(m, k)
		}
	}
	if len(m) < before {
		return
	}
	dropSome(m)
}

func dropSome[V any](m map[uint64]V) {
	n := max(1, len(m)/8)
	for k := range m {
		if n == 0 {
			return
		}
		delete(m, k)
		n--
	}
}

// Backoff counts failures (wrong credentials) per key. A key may fail
// Rule.Burst times at once, refilled at the rule's rate; a failure beyond
// that blocks the key for the time one failure takes to refill. From then
// on every failure blocks it again for twice as long (up to the maximum),
// and a blocked key is refused whatever it sends — the right credential
// too — until the block ends. The key starts over once it has been quiet
// for the maximum block and its budget is whole again.
type Backoff struct {
	table[*boEntry]
	rule Rule
	max  time.Duration
	now  func() time.Time
}

type boEntry struct {
	lim     rate.Limiter
	until   time.Time
	strikes uint8
}

// NewBackoff returns a Backoff applying rule, blocking at most maxBlock at
// a time, remembering at most maxKeys keys (DefaultMaxKeys when 0).
func NewBackoff(rule Rule, maxBlock time.Duration, maxKeys int, now func() time.Time) *Backoff {
	if now == nil {
		now = time.Now
	}
	b := &Backoff{rule: rule, max: maxBlock, now: now}
	b.init(maxKeys)
	return b
}

// Rule returns the back-off's rule.
func (b *Backoff) Rule() Rule { return b.rule }

// Blocked reports whether key is blocked, and for how long still.
func (b *Backoff) Blocked(key string) (bool, time.Duration) {
	if b == nil || b.rule.Off() {
		return false, 0
	}
	k, sh := b.shard(key)
	now := b.now()
	sh.mu.Lock()
	var left time.Duration
	if e := sh.m[k]; e != nil && now.Before(e.until) {
		left = e.until.Sub(now)
	}
	sh.mu.Unlock()
	return left > 0, left
}

// Fail records a failure of key. It reports whether the key is now
// blocked, and for how long.
func (b *Backoff) Fail(key string) (bool, time.Duration) {
	if b == nil || b.rule.Off() {
		return false, 0
	}
	k, sh := b.shard(key)
	now := b.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[k]
	if e == nil {
		if len(sh.m) >= b.perShd {
			b.evict(sh.m, now)
		}
		e = &boEntry{}
		e.lim = *rate.NewLimiter(b.rule.limit(), b.rule.Burst)
		sh.m[k] = e
	} else if b.quiet(e, now) {
		e.strikes = 0 // quiet long enough: start over
	}
	// Once blocked, every further failure blocks again, for longer, until
	// the key has been quiet.
	if e.strikes == 0 && e.lim.AllowN(now, 1) {
		return false, 0
	}
	d := b.rule.Per / time.Duration(b.rule.Burst) << min(e.strikes, 30)
	if d > b.max || d <= 0 {
		d = b.max
	}
	if e.strikes < 255 {
		e.strikes++
	}
	e.until = now.Add(d)
	return true, d
}

// quiet reports whether e has nothing to remember: its budget is whole
// again and its last block ended at least the longest block ago.
func (b *Backoff) quiet(e *boEntry, now time.Time) bool {
	return !now.Before(e.until.Add(b.max)) && e.lim.TokensAt(now) >= float64(b.rule.Burst)
}

// evict makes room in a full shard: quiet entries first, then unblocked
// ones, and only if every entry is blocked, an eighth in map order.
func (b *Backoff) evict(m map[uint64]*boEntry, now time.Time) {
	before := len(m)
	for k, e := range m {
		if b.quiet(e, now) {
			delete(m, k)
		}
	}
	if len(m) < before {
		return
	}
	for k, e := range m {
		if !now.Before(e.until) {
			delete(m, k)
		}
	}
	if len(m) < before {
		return
	}
	dropSome(m)
}
