package realtime

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// pendingLimit counts the WebSockets upgraded at /mqtt that have not
// authenticated yet, in total and per client address. A socket leaves the
// count when its CONNECT is accepted or when it closes, whichever is first.
type pendingLimit struct {
	max, perAddr int // < 0: no cap

	mu     sync.Mutex
	total  int
	byAddr map[string]int
}

func newPendingLimit(max, perAddr int) *pendingLimit {
	return &pendingLimit{max: max, perAddr: perAddr, byAddr: map[string]int{}}
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// refusals counts CONNECTs and upgrades the hardening refused, by reason.
var refusals = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
	Name: "gatehouse_realtime_refusals_total",
	Help: "Realtime connections refused by the caps on unauthenticated sockets or for a client id held by another user, by reason.",
}, []string{"reason"})

var (
	refusedTotalCap   = refusals.WithLabelValues("pending_total")
	refusedAddressCap = refusals.WithLabelValues("pending_address")
	refusedClientID   = refusals.WithLabelValues("client_id_taken")
)

var (
	errTooManyPending        = errors.New("too many unauthenticated realtime connections")
	errTooManyPendingForAddr = errors.New("too many unauthenticated realtime connections from this address")
)

// acquire takes a slot for addr, or says which cap refuses it.
func (p *pendingLimit) acquire(addr string) (*slot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.max >= 0 && p.total >= p.max {
		return nil, errTooManyPending
	}
	if p.perAddr >= 0 && p.byAddr[addr] >= p.perAddr {
		return nil, errTooManyPendingForAddr
	}
	p.total++
	p.byAddr[addr]++
	return &slot{p: p, addr: addr}, nil
}

func (p *pendingLimit) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// slot is one socket's place in the count; release is idempotent.
type slot struct {
	p    *pendingLimit
	addr string
	done atomic.Bool
}

func (s *slot) release() {
	if s == nil || !s.done.CompareAndSwap(false, true) {
		return
	}
	s.p.mu.Lock()
	s.p.total--
	if s.p.byAddr[s.addr]--; s.p.byAddr[s.addr] <= 0 {
		delete(s.p.byAddr, s.addr)
	}
	s.p.mu.Unlock()
}

// peerAddr is the connection's remote IP. Behind a reverse proxy every
// client shares the proxy's address, unless Config.ClientAddr knows the
// proxy.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// refuse answers an upgrade the caps refuse, before any WebSocket exists:
// 429 for one address over its share, 503 when the server is full, with
// the error envelope and Retry-After, and the HTTP connection closed.
func (b *Broker) refuse(w http.ResponseWriter, r *http.Request, why error) {
	st, code, counter := http.StatusServiceUnavailable, gatehouse.Unavailable, refusedTotalCap
	if errors.Is(why, errTooManyPendingForAddr) {
		st, code, counter = http.StatusTooManyRequests, gatehouse.RateLimited, refusedAddressCap
	}
	counter.Inc()
	if now := time.Now().Unix(); b.lastRefusalLog.Swap(now) != now {
		// At most one warning a second: refusals come in floods.
		b.log.Warn("realtime connection refused", "reason", why.Error(), "remote_addr", b.clientAddr(r), "pending", b.pending.count())
	}
	body, _ := json.Marshal(wire.NewError(gatehouse.Errorf(code, "%s; retry later", why.Error())))
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Retry-After", strconv.Itoa(int(max(time.Second, b.connectTimeout)/time.Second)))
	h.Set("Connection", "close")
	w.WriteHeader(st)
	w.Write(body)
}
