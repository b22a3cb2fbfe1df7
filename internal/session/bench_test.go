package session_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/wire"
)

func newService(tb testing.TB) *session.Service {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	// Fail-closed on, as serve runs it: validation checks the bound.
	svc := session.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), session.Config{FailClosedAfter: time.Hour})
	if err := svc.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return svc
}

// BenchmarkLoginReturningUser measures POST /api/v5/sessions without HTTP:
// a known user logging in again on its device (a durable write each time).
func BenchmarkLoginReturningUser(b *testing.B) {
	svc := newService(b)
	ctx := context.Background()
	_, key, err := svc.CreateApp(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	const users = 256
	for i := range users {
		if _, err := svc.Login(ctx, key, &wire.LoginRequest{UserID: fmt.Sprint("user", i), DeviceID: fmt.Sprint("device", i)}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16) // as many logins in flight as HTTP clients would have
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1) % users
			if _, err := svc.Login(ctx, key, &wire.LoginRequest{UserID: fmt.Sprint("user", i), DeviceID: fmt.Sprint("device", i)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAuthenticate measures token validation (GET /api/v3/sessions
// without HTTP): cached signature, in-memory revocation state.
func BenchmarkAuthenticate(b *testing.B) {
	svc := newService(b)
	ctx := context.Background()
	_, key, _ := svc.CreateApp(ctx, "bench")
	var toks []gatehouse.Secret
	for i := range 64 {
		r, err := svc.Login(ctx, key, &wire.LoginRequest{UserID: fmt.Sprint("user", i), DeviceID: fmt.Sprint("device", i)})
		if err != nil {
			b.Fatal(err)
		}
		toks = append(toks, r.AccessToken)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := toks[n.Add(1)%int64(len(toks))]
			if _, err := svc.Authenticate(context.Background(), tok.Reveal()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
