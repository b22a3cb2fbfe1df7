package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches the server's /metrics and parses it with the Prometheus
// text parser.
func (s *server) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	if s.MetricsURL == "" {
		s.t.Fatal("the server has no metrics URL")
	}
	res, err := http.Get(s.MetricsURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		s.t.Fatalf("metrics: %d %s", res.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		s.t.Fatalf("metrics do not parse: %v\n%s", err, body)
	}
	return fams
}

// sample returns the value of the counter or gauge in fam whose labels
// include want, and whether there is one.
func sample(fam *dto.MetricFamily, want map[string]string) (float64, bool) {
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics drives logins, validations, a logout, a ban and a deletion
// through the real binary, then scrapes /metrics on the separate metrics
// address and checks each family with the Prometheus text parser.
func TestMetrics(t *testing.T) {
	s := startServer(t)
	// Not on the public listener.
	if st, _ := s.call("GET", "/metrics", ""); st != 404 {
		t.Fatalf("public /metrics: %d, want 404", st)
	}
	app := s.cliJSON("app", "create", "Metrics")
	appID, apiKey := app["appId"].(string), app["apiKey"].(string)
	login := func(user, device string) string {
		st, body := s.call("POST", "/api/v5/sessions", `{"userId":"`+user+`","deviceId":"`+device+`"}`, "X-API-Key", apiKey)
		if st != 200 {
			t.Fatalf("login: %d %s", st, body)
		}
		return jsonField(t, body, "accessToken")
	}
	tok := login("alice", "d1")
	for range 3 {
		if st, _ := s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+tok); st != 200 {
			t.Fatal("validate")
		}
	}
	s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer nope")
	s.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1"}`, "X-API-Key", "wrong")
	if st, _ := s.call("DELETE", "/api/v4/sessions", "", "Authorization", "Bearer "+tok); st != 200 {
		t.Fatal("logout")
	}
	login("bob", "d2")
	login("carol", "d3")
	s.cliJSON("user", "ban", appID, "bob")
	s.cliJSON("user", "delete", appID, "carol")

	m := s.scrape()
	checks := []struct {
		family string
		labels map[string]string
		min    float64
	}{
		{"gatehouse_logins_total", map[string]string{"kind": "api_key", "result": "ok"}, 3},
		{"gatehouse_logins_total", map[string]string{"kind": "api_key", "result": "unauthenticated"}, 1},
		{"gatehouse_token_validations_total", map[string]string{"result": "ok"}, 3},
		{"gatehouse_token_validations_total", map[string]string{"result": "unauthenticated"}, 1},
		{"gatehouse_sessions_revoked_total", map[string]string{"reason": "logout"}, 1},
		{"gatehouse_sessions_revoked_total", map[string]string{"reason": "ban"}, 1},
		{"gatehouse_sessions_revoked_total", map[string]string{"reason": "delete"}, 1},
		{"gatehouse_user_bans_total", nil, 1},
		{"gatehouse_user_deletions_total", nil, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "GET /api/v3/sessions", "code": "200"}, 3},
		{"gatehouse_http_requests_total", map[string]string{"route": "GET /api/v3/sessions", "code": "401"}, 1},
		{"gatehouse_http_request_duration_seconds", map[string]string{"route": "POST /api/v5/sessions"}, 4},
		{"gatehouse_store_commit_duration_seconds", nil, 1},
		{"gatehouse_store_commit_batch_size", nil, 1},
		{"gatehouse_cache_entries", map[string]string{"cache": "restricted_users"}, 2},
		{"gatehouse_realtime_connections", map[string]string{"transport": "websocket"}, 0},
		{"gatehouse_events_applied_total", map[string]string{"kind": "user"}, 2},
		{"gatehouse_events_applied_total", map[string]string{"kind": "sessions"}, 1},
		{"gatehouse_event_last_applied_id", map[string]string{"store": "sqlite"}, 5},
		{"gatehouse_event_lag_seconds", map[string]string{"store": "sqlite"}, 0},
		{"go_goroutines", nil, 1},
		{"process_resident_memory_bytes", nil, 1},
	}
	for _, c := range checks {
		v, ok := sample(m[c.family], c.labels)
		if !ok || v < c.min {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.family, c.labels, v, ok, c.min)
		}
	}
	if v, _ := sample(m["gatehouse_event_lag_seconds"], map[string]string{"store": "sqlite"}); v > 5 {
		t.Errorf("event lag %v s on a running node, want under the 5 s fail-closed bound", v)
	}
	// No label carries a user, app or token.
	for name, fam := range m {
		for _, x := range fam.Metric {
			for _, l := range x.Label {
				if strings.Contains(l.GetValue(), appID) || strings.Contains(l.GetValue(), "alice") || strings.Contains(l.GetValue(), tok) {
					t.Errorf("%s has label %s=%s", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func jsonField(t *testing.T, body []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	v, _ := m[field].(string)
	return v
}
