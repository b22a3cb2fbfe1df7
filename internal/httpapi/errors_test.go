package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// Every error answer goes through writeError: the status follows the code
// unless the error carries its own (413, 415, 429 with Retry-After), the
// body is the envelope, and the answer carries a request id. A panic gets
// the same internal-error envelope.
func TestErrorFunnel(t *testing.T) {
	h := &handler{log: slog.New(slog.DiscardHandler)}
	cases := []struct {
		name       string
		fn         handlerFunc
		status     int
		code       int
		retryAfter string
		message    string
	}{
		{"coded", func(http.ResponseWriter, *http.Request) error { return errNotFound }, 404, 400400, "", "Resource Not Found."},
		{"own status", func(w http.ResponseWriter, r *http.Request) error {
			return decode(w, r, &struct{}{}, false)
		}, 415, 400000, "", "Content-Type must be application/json"},
		{"rate limited", func(http.ResponseWriter, *http.Request) error {
			return &statusError{err: gatehouse.Errorf(gatehouse.RateLimited, "slow down"), retryAfter: 7}
		}, 429, 400311, "7", "slow down"},
		{"unavailable", func(http.ResponseWriter, *http.Request) error {
			return gatehouse.Errorf(gatehouse.Unavailable, "storage unavailable")
		}, 503, 500000, "1", "storage unavailable"},
		{"internal", func(http.ResponseWriter, *http.Request) error {
			return gatehouse.Errorf(gatehouse.Internal, "secret cause")
		}, 500, 500000, "", "Internal server error (request "},
		{"panic", func(http.ResponseWriter, *http.Request) error { panic("boom") }, 500, 500000, "", "Internal server error (request "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/x", strings.NewReader("{}"))
			req.Header.Set("Content-Type", "text/plain")
			h.observe(h.serve(c.fn)).ServeHTTP(rec, req)
			var env wire.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != c.status || env.Status != "error" || env.Code != c.code || !strings.HasPrefix(env.Message, c.message) {
				t.Fatalf("got %d %+v, want %d code %d message %q", rec.Code, env, c.status, c.code, c.message)
			}
			if strings.Contains(env.Message, "secret cause") {
				t.Fatal("an internal error's cause reached the response")
			}
			if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, c.retryAfter)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Fatal("error answer without X-Request-Id")
			}
		})
	}
}
