package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
)

// TestHardenSetsEveryLimit: a server without these limits can be held open
// by slow clients (slowloris) or fed unbounded headers.
func TestHardenSetsEveryLimit(t *testing.T) {
	s := httpapi.Harden(&http.Server{})
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
		t.Fatalf("timeouts not all set: %+v", s)
	}
	if s.ReadHeaderTimeout > s.ReadTimeout || s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 64<<10 {
		t.Fatalf("limits: header timeout %s, read timeout %s, max header bytes %d", s.ReadHeaderTimeout, s.ReadTimeout, s.MaxHeaderBytes)
	}
}

// TestErrorsCarryRequestID: every error answer has an X-Request-Id that also
// appears in the server's log for server errors.
func TestErrorsCarryRequestID(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v3/sessions", nil)
	if r.status != 401 || r.header.Get("X-Request-Id") == "" {
		t.Fatalf("error without request id: %d %v", r.status, r.header)
	}
	other := e.do("GET", "/api/v3/sessions", nil)
	if other.header.Get("X-Request-Id") == r.header.Get("X-Request-Id") {
		t.Fatal("two requests got the same id")
	}
}
