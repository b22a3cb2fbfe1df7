package session

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Prober is implemented by stores that can prove they commit: Probe makes
// one small durable write through the same path as every change (the
// SQLite store's group commit, fsync included).
type Prober interface {
	Probe(ctx context.Context) error
}

// probeWait bounds how long Ready waits for the store's probe: a store that
// cannot commit within it is not ready (a write stuck behind a lock counts).
const probeWait = 2 * time.Second

// probeFresh is how long a successful probe answers for, so that many
// readiness checks make few writes.
const probeFresh = time.Second

type readiness struct {
	loaded atomic.Bool // Load finished: the revocation state is in memory

	mu       sync.Mutex
	inflight chan struct{} // closed when the running probe ends
	okAt     time.Time     // last successful probe
	lastErr  error
}

var (
	errNotLoaded   = gatehouse.Errorf(gatehouse.Unavailable, "Not ready: the revocation state is not loaded yet")
	errCommitStuck = gatehouse.Errorf(gatehouse.Unavailable, "Not ready: the store did not commit a write within 2 s")
)

// Ready reports whether this node may take traffic: its revocation state is
// loaded, it is current with the event log (Current), and the store commits
// (when it implements Prober). The error says which check failed.
func (s *Service) Ready(ctx context.Context) error {
	if !s.ready.loaded.Load() {
		return errNotLoaded
	}
	if err := s.Current(); err != nil {
		return err
	}
	p, ok := s.store.(Prober)
	if !ok {
		return nil
	}
	r := &s.ready
	r.mu.Lock()
	if !r.okAt.IsZero() && time.Since(r.okAt) < probeFresh && r.inflight == nil {
		r.mu.Unlock()
		return nil
	}
	done := r.inflight
	if done == nil {
		// One probe at a time; it runs to its end even if this caller
		// gives up, and its result answers the next callers.
		done = make(chan struct{})
		r.inflight = done
		go func() {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			err := p.Probe(pctx)
			cancel()
			r.mu.Lock()
			r.lastErr, r.inflight = err, nil
			if err == nil {
				r.okAt = time.Now()
			}
			r.mu.Unlock()
			close(done)
		}()
	}
	r.mu.Unlock()
	t := time.NewTimer(probeWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return errCommitStuck
	case <-ctx.Done():
		return gatehouse.Wrap(gatehouse.Unavailable, ctx.Err(), "Not ready: readiness check cancelled")
	}
	r.mu.Lock()
	err := r.lastErr
	r.mu.Unlock()
	if err != nil {
		return gatehouse.Wrap(gatehouse.Unavailable, err, "Not ready: the store cannot commit")
	}
	return nil
}
