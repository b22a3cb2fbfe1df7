package console

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Activity counts what the dashboard charts, per minute over the last day:
// logins that succeeded and logins refused (wrong key, secure mode, banned
// user…), requests refused by a rate limit, and the live sessions sampled
// from the store. The counters are this node's (each node counts what it
// served); live sessions and bans come from the store, so they are the
// cluster's. Counting is one atomic add, cheap enough for the login path.
type Activity struct {
	now     func() time.Time
	logins  series
	refused series
	limited series

	mu       sync.Mutex
	sessions [sessionSamples]sample
}

type sample struct {
	at time.Time
	n  int
}

const (
	minutes        = 24 * 60
	sessionSamples = 24 * 12 // one every five minutes
)

// series is a ring of per-minute counts: slot i holds minute m with
// m % minutes == i; a slot whose stamp is older is stale and counts 0.
type series struct {
	stamp [minutes]atomic.Int64 // the minute (Unix minutes) the count belongs to
	count [minutes]atomic.Int64
}

func (s *series) add(now time.Time) {
	m := now.Unix() / 60
	i := m % minutes
	if s.stamp[i].Load() != m {
		// A new minute in this slot: the first writer resets it. A
		// concurrent add of that minute may be lost; the charts show
		// trends, not an account.
		if old := s.stamp[i].Load(); old != m && s.stamp[i].CompareAndSwap(old, m) {
			s.count[i].Store(0)
		}
	}
	s.count[i].Add(1)
}

// last returns the counts of the n minutes ending at now, oldest first.
func (s *series) last(now time.Time, n int) []int64 {
	out := make([]int64, n)
	end := now.Unix() / 60
	for k := range n {
		m := end - int64(n-1-k)
		i := m % minutes
		if s.stamp[i].Load() == m {
			out[k] = s.count[i].Load()
		}
	}
	return out
}

// NewActivity returns empty counters on the clock now (time.Now when nil).
func NewActivity(now func() time.Time) *Activity {
	if now == nil {
		now = time.Now
	}
	return &Activity{now: now}
}

// Login counts a login answered with ok true (a token issued) or false.
func (a *Activity) Login(ok bool) {
	if ok {
		a.logins.add(a.now())
	} else {
		a.refused.add(a.now())
	}
}

// Refused counts a rate-limit refusal (any kind).
func (a *Activity) Refused(string) { a.limited.add(a.now()) }

// Sample records the number of live sessions now.
func (a *Activity) Sample(n int) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	i := (now.Unix() / 300) % sessionSamples
	a.sessions[i] = sample{now, n}
}

// Run samples the live sessions every five minutes until ctx ends.
func (a *Activity) Run(ctx context.Context, count func(context.Context) (int, error)) error {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if n, err := count(ctx); err == nil {
			a.Sample(n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *Activity) sessionSeries(now time.Time) []point {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []point
	for _, s := range a.sessions {
		if !s.at.IsZero() && now.Sub(s.at) < 24*time.Hour {
			out = append(out, point{s.at, float64(s.n)})
		}
	}
	// Oldest first.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].at.Before(out[j-1].at); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

type point struct {
	at time.Time
	v  float64
}

// chart is a bar or line chart drawn as SVG by the template: coordinates
// only (numbers the server computed), never text from users.
type chart struct {
	Title, Note string
	Total       string
	Bars        []bar
	Line        string // polyline points, for line charts
	Dots        []bar  // the samples of a line chart (X, Y)
	Max         string
	From, To    string
	Empty       bool
}

type bar struct {
	X, Y, W, H float64
	Label      string
}

const (
	chartW = 600.0
	chartH = 140.0
)

func barChart(title, note string, values []int64, from, to string) chart {
	c := chart{Title: title, Note: note, From: from, To: to}
	var top, total int64
	for _, v := range values {
		top = max(top, v)
		total += v
	}
	c.Total, c.Max = fmt.Sprint(total), fmt.Sprint(top)
	c.Empty = total == 0
	if top == 0 {
		top = 1
	}
	w := chartW / float64(len(values))
	for i, v := range values {
		h := float64(v) / float64(top) * (chartH - 10)
		c.Bars = append(c.Bars, bar{X: float64(i) * w, Y: chartH - h, W: max(w-1, 1), H: h, Label: fmt.Sprint(v)})
	}
	return c
}

func lineChart(title, note string, pts []point, start, end time.Time) chart {
	c := chart{Title: title, Note: note, From: "24 h ago", To: "now, " + end.UTC().Format("15:04 UTC")}
	var top float64
	for _, p := range pts {
		top = max(top, p.v)
	}
	c.Max = fmt.Sprint(top)
	if len(pts) == 0 {
		c.Empty = true
		return c
	}
	c.Total = fmt.Sprint(pts[len(pts)-1].v)
	if top == 0 {
		top = 1
	}
	span := end.Sub(start).Seconds()
	var sb strings.Builder
	for _, p := range pts {
		x := p.at.Sub(start).Seconds() / span * chartW
		y := chartH - p.v/top*(chartH-10)
		fmt.Fprintf(&sb, "%.1f,%.1f ", x, y)
		c.Dots = append(c.Dots, bar{X: x, Y: y, Label: fmt.Sprint(p.v)})
	}
	c.Line = strings.TrimSpace(sb.String())
	return c
}

// sum folds per-minute counts into buckets of size minutes.
func sum(v []int64, size int) []int64 {
	out := make([]int64, 0, len(v)/size)
	for i := 0; i+size <= len(v); i += size {
		var s int64
		for _, x := range v[i : i+size] {
			s += x
		}
		out = append(out, s)
	}
	return out
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := h.svc.Now()
	live, err := h.svc.LiveSessions(ctx, "")
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	apps, err := h.svc.Apps(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	// Bans come from the audit log in the store: every node's.
	bans, err := h.svc.AuditLog(ctx, p.actor(), gatehouse.AuditFilter{Action: "user.ban", Since: now.Add(-24 * time.Hour), Limit: 500})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	banHours := make([]int64, 24)
	for _, e := range bans {
		if e.Result == "ok" {
			if k := 23 - int(now.Sub(e.At)/time.Hour); k >= 0 && k < 24 {
				banHours[k]++
			}
		}
	}
	var charts []chart
	a := h.opts.Activity
	if a == nil {
		a = NewActivity(h.svc.Now)
	}
	a.Sample(live)
	hourAgo, dayAgo := "1 h ago", "24 h ago"
	end := "now, " + now.UTC().Format("15:04 UTC")
	charts = append(charts,
		barChart("Logins per minute", "last hour, this node", a.logins.last(now, 60), hourAgo, end),
		lineChart("Active sessions", "last 24 hours, all nodes", a.sessionSeries(now), now.Add(-24*time.Hour), now),
		barChart("Refused logins per 15 minutes", "wrong keys, secure mode, bans; last 24 hours, this node", sum(a.refused.last(now, minutes), 15), dayAgo, end),
		barChart("Rate-limit refusals per 15 minutes", "last 24 hours, this node", sum(a.limited.last(now, minutes), 15), dayAgo, end),
		barChart("Bans per hour", "last 24 hours, all nodes", banHours, dayAgo, end),
	)
	recent, err := h.svc.AuditLog(ctx, p.actor(), gatehouse.AuditFilter{Limit: 8})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "dashboard", p, map[string]any{"Title": "Dashboard", "Section": "dashboard", "Charts": charts,
		"Live": live, "Apps": len(apps), "Recent": recent, "Now": now})
}
