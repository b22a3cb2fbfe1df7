package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// The handler benchmarks measure the per-request work of the hot routes
// without the network: middleware, routing, decoding, service, encoding.

func BenchmarkHandlerValidate(b *testing.B) {
	logLevel = slog.LevelWarn
	e := newEnv(b)
	defer e.stop()
	a := e.newApp()
	h := e.srv.Config.Handler
	var toks []string
	for i := range 32 {
		toks = append(toks, e.login(a, fmt.Sprint("u", i), fmt.Sprint("d", i)).AccessToken)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// One request per goroutine, reused: the benchmark measures the
		// handler, not the construction of test requests.
		req := httptest.NewRequest("GET", "/api/v3/sessions", nil)
		req.Header.Set("Authorization", "Bearer "+toks[n.Add(1)%32])
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatalf("validate: %d", w.code)
			}
		}
	})
}

func BenchmarkHandlerLoginReturningUser(b *testing.B) {
	logLevel = slog.LevelWarn
	// The per-user and per-app login limits are off: at the default
	// -benchtime the loop logs each of its 256 users in far more often than
	// the 100 per 5 s a user is allowed, and would measure 429s.
	lc := ratelimit.DefaultConfig()
	lc.LoginPerUser, lc.LoginPerApp = ratelimit.Rule{}, ratelimit.Rule{}
	e := startEnv(b, &env{limits: &lc})
	defer e.stop()
	a := e.newApp()
	h := e.srv.Config.Handler
	const users = 256
	for i := range users {
		e.login(a, fmt.Sprint("u", i), fmt.Sprint("d", i))
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1) % users
			body := fmt.Sprintf(`{"userId":"u%d","deviceId":"d%d","deviceInfo":{"kind":"web","sdkVersion":"v6.35.3-cjs"}}`, i, i)
			req := httptest.NewRequest("POST", "/api/v5/sessions", strings.NewReader(body))
			req.Header.Set("X-API-Key", a.APIKey)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("login: %d %s", w.Code, w.Body)
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(c int)           { w.code = c }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
