package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestObserveHTTP counts by route and code, and maps an unmatched request
// to one label value rather than its path.
func TestObserveHTTP(t *testing.T) {
	before := testutil.ToFloat64(httpRequests.WithLabelValues("GET /test/route", "200"))
	ObserveHTTP("GET /test/route", 200, time.Millisecond)
	ObserveHTTP("GET /test/route", 200, time.Millisecond)
	ObserveHTTP("GET /test/route", 404, time.Millisecond)
	ObserveHTTP("", 404, time.Millisecond)
	if got := testutil.ToFloat64(httpRequests.WithLabelValues("GET /test/route", "200")); got != before+2 {
		t.Fatalf("200s: %v, want %v", got, before+2)
	}
	if got := testutil.ToFloat64(httpRequests.WithLabelValues("unmatched", "404")); got < 1 {
		t.Fatalf("unmatched: %v", got)
	}
	if err := testutil.GatherAndCompare(Registry, strings.NewReader(""), "gatehouse_no_such_metric"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkObserveHTTP is the per-request cost the metrics add to every
// route (compare with a validation's ~14 µs of server CPU).
func BenchmarkObserveHTTP(b *testing.B) {
	ObserveHTTP("GET /api/v3/sessions", 200, time.Millisecond)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ObserveHTTP("GET /api/v3/sessions", 200, 3*time.Microsecond)
		}
	})
}
