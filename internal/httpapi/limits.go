package httpapi

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// Where limits apply (SECURITY.md cases 59–60, 73–76):
//   - logins, per app and user (renewals are logins, so a client renewing
//     in a loop is limited too), and per app (its login budget);
//   - wrong API keys and auth tokens at login, wrong server keys at the
//     auth-token endpoint and wrong admin tokens anywhere, per client
//     address and kind, with a growing back-off. A blocked address is
//     refused before its credential is even looked at, the right one too.
//
// A refusal is 429 with Retry-After (whole seconds, rounded up) and the
// social.plus envelope, code 400311.

// limiter is the handler's view of the limits; a nil one limits nothing.
type limiter struct {
	*ratelimit.Limits
	log      *slog.Logger
	refusals refusalLog
	// OnRefuse, when set, is told of every refusal (metrics).
	onRefuse func(kind string)
}

func (h *handler) clientAddr(r *http.Request) string {
	if h.lim == nil {
		return r.RemoteAddr
	}
	return h.lim.Config.TrustedProxies.ClientAddr(r)
}

// blocked returns the refusal of the request if its address is blocked for
// any of the credentials.
func (h *handler) blocked(r *http.Request, addr string, creds ...ratelimit.Credential) error {
	if h.lim == nil {
		return nil
	}
	for _, c := range creds {
		if blocked, wait := h.lim.Failed[c].Blocked(addr); blocked {
			return h.refuse(r, string(c), addr, "", wait)
		}
	}
	return nil
}

// failed records a wrong credential from addr, and logs it at warn,
// sampled (at most one line a second per kind, with the count left out):
// the kind and the client address, never the credential.
func (h *handler) failed(r *http.Request, addr string, c ratelimit.Credential) {
	h.credFailures.log(r, h.log, "failed credential", string(c), addr, "", 0)
	if h.lim == nil {
		return
	}
	if blocked, d := h.lim.Failed[c].Fail(addr); blocked {
		h.lim.refusals.log(r, h.lim.log, "client address blocked after failed credentials", string(c), addr, "", d)
	}
}

// admitLogin applies the per-app and per-user login limits: nil, or the
// refusal.
func (h *handler) admitLogin(r *http.Request, addr, appID, userID string) error {
	if h.lim == nil {
		return nil
	}
	if ok, wait := h.lim.LoginApp.Allow(appID); !ok {
		return h.refuse(r, "login_app", addr, appID, wait)
	}
	if ok, wait := h.lim.LoginUser.Allow(appID, userID); !ok {
		return h.refuse(r, "login_user", addr, appID, wait)
	}
	return nil
}

// refusals counts 429 answers by limit: login_user, login_app, api_key,
// server_key, auth_token, admin_token.
var refusals = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
	Name: "gatehouse_ratelimit_refusals_total",
	Help: "Requests refused by a rate limit (HTTP 429), by limit.",
}, []string{"limit"})

// refuse counts and logs a rate-limit refusal and returns its error: 429
// with Retry-After.
func (h *handler) refuse(r *http.Request, kind, addr, appID string, wait time.Duration) error {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	refusals.WithLabelValues(kind).Inc()
	if h.lim.onRefuse != nil {
		h.lim.onRefuse(kind)
	}
	h.lim.refusals.log(r, h.lim.log, "request refused by a rate limit", kind, addr, appID, wait)
	return &statusError{err: gatehouse.Errorf(gatehouse.RateLimited, "Too many requests: try again in %d s", secs), retryAfter: secs}
}

// refusalLog logs refusals at warn, at most one line per kind a second,
// with the number left out since the last line: an attack must not turn
// into a flood of log lines. Never a credential: the kind, the client
// address and the app.
type refusalLog struct {
	mu    sync.Mutex
	kinds map[string]*sample
}

type sample struct {
	last       atomic.Int64
	suppressed atomic.Int64
}

func (l *refusalLog) log(r *http.Request, log *slog.Logger, msg, kind, addr, appID string, wait time.Duration) {
	l.mu.Lock()
	if l.kinds == nil {
		l.kinds = map[string]*sample{}
	}
	s := l.kinds[kind]
	if s == nil {
		s = &sample{}
		l.kinds[kind] = s
	}
	l.mu.Unlock()
	now := time.Now().UnixNano()
	last := s.last.Load()
	if now-last < int64(time.Second) || !s.last.CompareAndSwap(last, now) {
		s.suppressed.Add(1)
		return
	}
	attrs := []slog.Attr{slog.String("kind", kind), slog.String("client_addr", addr), slog.Int64("suppressed", s.suppressed.Swap(0))}
	if wait > 0 {
		attrs = append(attrs, slog.Int64("retry_after_ms", wait.Milliseconds()))
	}
	if appID != "" {
		attrs = append(attrs, slog.String("app_id", appID))
	}
	log.LogAttrs(r.Context(), slog.LevelWarn, msg, attrs...)
}
