package session_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
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
		if _, err := svc.Login(ctx, key, &session.LoginInput{UserID: fmt.Sprint("user", i), DeviceID: fmt.Sprint("device", i)}); err != nil {
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
			if _, err := svc.Login(ctx, key, &session.LoginInput{UserID: fmt.Sprint("user", i), DeviceID: fmt.Sprint("device", i)}); err != nil {
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
		r, err := svc.Login(ctx, key, &session.LoginInput{UserID: fmt.Sprint("user", i), DeviceID: fmt.Sprint("device", i)})
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

// BenchmarkSessionMemory reports the live heap each session costs once its
// token has been validated: GATEHOUSE_BENCH_SESSIONS sessions (default
// 1,000,000; one user and device each), each token validated once, then
// the heap after a full collection, per session ("B/session"). Tokens are
// not kept by the benchmark. Run it once:
//
//	GATEHOUSE_BENCH_DIR=/dev/shm go test -run - -bench SessionMemory -benchtime 1x -timeout 30m ./internal/session
func BenchmarkSessionMemory(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_SESSIONS")); err == nil {
		n = v
	}
	// The database may go to a tmpfs (GATEHOUSE_BENCH_DIR=/dev/shm): what
	// is measured is the server's heap, not the disk.
	dir := b.TempDir()
	if d := os.Getenv("GATEHOUSE_BENCH_DIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "gatehouse-bench"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := session.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), session.Config{})
	if err := svc.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	_, key, err := svc.CreateApp(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	base := heapAfterGC()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 { // logins in flight share the store's group commit
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				r, err := svc.Login(ctx, key, &session.LoginInput{UserID: fmt.Sprint("user-", i), DeviceID: fmt.Sprint("device-", i),
					DeviceInfo: gatehouse.DeviceInfo{Kind: "web", Model: "reactnative#unknown_agent", SDKVersion: "v7.20.0-cjs"}})
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := svc.Authenticate(ctx, r.AccessToken.Reveal()); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	heap := heapAfterGC()
	runtime.KeepAlive(svc)
	b.ReportMetric(float64(int64(heap)-int64(base))/float64(n), "B/session")
	b.ReportMetric(float64(n)/took.Seconds(), "sessions/s")
	b.Logf("%d sessions: live heap %d -> %d MiB", n, base>>20, heap>>20)
}

func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
