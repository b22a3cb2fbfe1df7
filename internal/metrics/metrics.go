// Package metrics holds Gatehouse's Prometheus metrics: one registry,
// served by Handler on serve's separate --metrics-addr (never on the public
// listener).
//
// Adding a metric: declare it where it is counted, registered through
// Factory, named gatehouse_<area>_<what>[_<unit>] (seconds for durations,
// _total for counters), with labels whose values come from a small fixed
// set (never user or app ids):
//
//	var refusals = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
//		Name: "gatehouse_ratelimit_refusals_total",
//		Help: "Requests refused by a rate limit, by limit.",
//	}, []string{"limit"})
//
// On a hot path, resolve the labelled child once (refusals.WithLabelValues("login")
// in a package variable) rather than per request: a child's Inc is one
// atomic add, a WithLabelValues a hash and a map lookup. Values that are
// already kept somewhere (cache sizes, connection counts) are read at
// scrape time with a GaugeFunc or Collector instead of being mirrored.
//
// Metrics are process-wide, as Prometheus expects; tests that run several
// servers in one process compare values before and after.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Registry is the registry Handler serves.
var Registry = prometheus.NewRegistry()

// Factory creates metrics registered on Registry.
var Factory = promauto.With(Registry)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// Handler serves the registry in the Prometheus text (or protobuf) format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry, ErrorLog: nil})
}

// Latency buckets in seconds: 50 µs to 10 s, for requests and commits on
// loopback and real networks alike.
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// HTTP requests.
var (
	httpRequests = Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total",
		Help: "HTTP requests answered, by route pattern and status code.",
	}, []string{"route", "code"})
	httpDuration = Factory.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern (for /mqtt: the life of the WebSocket connection).",
		Buckets: latencyBuckets,
	}, []string{"route"})
)

// route holds a route's resolved metric children.
type route struct {
	duration prometheus.Observer
	name     string
	codes    sync.Map // int -> prometheus.Counter
}

var routes sync.Map // route pattern -> *route

// ObserveHTTP counts one answered request. route is the matched pattern
// (r.Pattern; "" counts as "unmatched"). The children are resolved on a
// route's first request and reused, so the hot path does two sync.Map
// loads, one atomic add and one histogram observation.
func ObserveHTTP(pattern string, code int, d time.Duration) {
	v, ok := routes.Load(pattern)
	if !ok {
		name := pattern
		if name == "" {
			name = "unmatched"
		}
		v, _ = routes.LoadOrStore(pattern, &route{duration: httpDuration.WithLabelValues(name), name: name})
	}
	rt := v.(*route)
	c, ok := rt.codes.Load(code)
	if !ok {
		c, _ = rt.codes.LoadOrStore(code, httpRequests.WithLabelValues(rt.name, strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
	rt.duration.Observe(d.Seconds())
}

// Logins and validations. Results are "ok" or the gatehouse error code
// (unauthenticated, banned, forbidden, invalid, unavailable, …).
var (
	Logins = Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_logins_total",
		Help: "Logins (POST /api/v*/sessions), by kind (api_key: secure mode off; auth_token: with a secure-mode auth token; visitor, bot: POST /api/v5/sessions/visitor, /bot) and result.",
	}, []string{"kind", "result"})
	Validations = Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_token_validations_total",
		Help: "Access-token validations on the client API, by result.",
	}, []string{"result"})
	// Pre-resolved children for the successful cases, the hot ones.
	LoginAPIKeyOK   = Logins.WithLabelValues("api_key", "ok")
	LoginAuthTokOK  = Logins.WithLabelValues("auth_token", "ok")
	ValidationOK    = Validations.WithLabelValues("ok")
	validationCodes sync.Map // string -> prometheus.Counter
)

// ValidationFailed counts a refused validation by its error code.
func ValidationFailed(code string) {
	c, ok := validationCodes.Load(code)
	if !ok {
		c, _ = validationCodes.LoadOrStore(code, Validations.WithLabelValues(code))
	}
	c.(prometheus.Counter).Inc()
}

// Revocations, bans and deletions.
var (
	Revocations = Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_sessions_revoked_total",
		Help: "Sessions revoked, by reason (logout, admin, revoke_all, ban, delete, device_replaced).",
	}, []string{"reason"})
	Bans = Factory.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_user_bans_total",
		Help: "Global bans committed.",
	})
	Deletions = Factory.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_user_deletions_total",
		Help: "User deletions committed.",
	})
)

// Store.
var (
	StoreCommit = Factory.NewHistogram(prometheus.HistogramOpts{
		Name:    "gatehouse_store_commit_duration_seconds",
		Help:    "Time to commit one write batch (group commit), fsync included.",
		Buckets: latencyBuckets,
	})
	StoreBatch = Factory.NewHistogram(prometheus.HistogramOpts{
		Name:    "gatehouse_store_commit_batch_size",
		Help:    "Writes sharing one commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
)

// Realtime.
var (
	BanEventLatency = Factory.NewHistogram(prometheus.HistogramOpts{
		Name:    "gatehouse_realtime_ban_event_seconds",
		Help:    "Time from a committed ban to its event written to the banned user's MQTT connections.",
		Buckets: latencyBuckets,
	})
)

// GaugeFuncs registers gauges read at scrape time, one per key of what
// read returns, as the label named label. Registering the same name again
// replaces read (a second server in one test process).
func GaugeFuncs(name, help, label string, read func() map[string]float64) {
	gaugesMu.Lock()
	defer gaugesMu.Unlock()
	if c, ok := gauges[name]; ok {
		c.read.Store(&read)
		return
	}
	c := &mapCollector{desc: prometheus.NewDesc(name, help, []string{label}, nil)}
	c.read.Store(&read)
	Registry.MustRegister(c)
	gauges[name] = c
}

var (
	gaugesMu sync.Mutex
	gauges   = map[string]*mapCollector{}
)

type mapCollector struct {
	desc *prometheus.Desc
	read atomic.Pointer[func() map[string]float64]
}

func (c *mapCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *mapCollector) Collect(ch chan<- prometheus.Metric) {
	for k, v := range (*c.read.Load())() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, k)
	}
}

// HistogramCount returns how many observations h has (for tests).
func HistogramCount(h prometheus.Histogram) uint64 {
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}
