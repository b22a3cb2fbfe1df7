package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/realtime"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

func readyz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// TestReadyzChecks: /readyz is 503 until the revocation state is loaded,
// and while the realtime listener is not running; 200 once both are; and
// /healthz is 200 throughout.
func TestReadyzChecks(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := session.New(db, log, session.Config{SealKey: testenv.SealKey})
	b, err := realtime.New(log, realtime.Config{AllowedOrigins: []string{"*"}, Ended: session.Ended},
		func(string) (realtime.Identity, error) { return realtime.Identity{}, context.Canceled })
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.NewHandler(log, svc, b, httpapi.Options{})

	if st, body := readyz(t, h); st != 503 || !strings.Contains(body, "revocation state") {
		t.Fatalf("before Load: %d %s", st, body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("healthz before Load: %d", rec.Code)
	}
	if err := svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, body := readyz(t, h); st != 503 || !strings.Contains(body, "realtime") {
		t.Fatalf("loaded, realtime not running: %d %s", st, body)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, body := readyz(t, h)
		if st == 200 {
			break
		}
		if !strings.Contains(body, "realtime") || time.Now().After(deadline) {
			t.Fatalf("while realtime starts: %d %s", st, body)
		}
	}
}
