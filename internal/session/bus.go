package session

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// The event log keeps every node's in-memory validation state current
// (ARCHITECTURE.md, "How the bus stays exact"). Each change that matters is
// written to the store's event log in the change's own transaction; every
// node, the writer included, applies the log in id order from the last
// event it applied, through the same in-memory update paths a local change
// uses, and publishes what concerns live connections to its own broker.
// A wake-up (in-process after a local write, NOTIFY on PostgreSQL) only
// says "look"; Run also polls, so a lost wake-up delays an event by at
// most one poll.
//
// The writer also updates its own memory at once, before applying the
// event: read-your-writes never waits for the log.

// eventPage is how many events one read of the log returns.
const eventPage = 500

// settleTimeout bounds how long a change waits for its event to be applied
// on its own node.
const settleTimeout = 2 * time.Second

// defaultPollEvery is how often Run reads the log without a wake-up.
const defaultPollEvery = time.Second

// bus is the node's position in the event log.
type bus struct {
	sem     chan struct{} // held by the one catch-up in progress
	last    atomic.Int64  // id of the last event applied; written under sem
	tickets atomic.Uint64 // catch-ups asked for
	served  atomic.Uint64 // every ticket up to this one is covered by a completed catch-up
	// confirmed is when (service clock; time.Now carries a monotonic
	// reading) the last successful catch-up started.
	confirmed atomic.Pointer[time.Time]
	lost      atomic.Bool // events this node had not applied were pruned
	wake      chan struct{}
}

var (
	eventsApplied = metrics.Factory.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_events_applied_total",
		Help: "Events of the log this node applied (its own changes included), by kind.",
	}, []string{"kind"})
	eventReadErrors = metrics.Factory.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_event_log_read_errors_total",
		Help: "Reads of the event log that failed (the database out of reach).",
	})
)

var (
	errStale = gatehouse.Errorf(gatehouse.Unavailable, "This server cannot confirm its session state is current; try again")
	errLost  = gatehouse.Errorf(gatehouse.Unavailable, "This server fell too far behind the event log and must be restarted")
)

// Wake tells the service that new events may be in the log (a NOTIFY).
func (s *Service) Wake() {
	select {
	case s.bus.wake <- struct{}{}:
	default:
	}
}

// Current reports whether this node can answer from memory: it returns an
// Unavailable error when fail-closed is configured and the node has not
// confirmed within the bound that it has applied every event.
func (s *Service) Current() error { return s.currentAt(s.now()) }

// currentAt is Current at now (the caller's reading of the service clock).
func (s *Service) currentAt(now time.Time) error {
	if s.failAfter <= 0 {
		return nil
	}
	if s.bus.lost.Load() {
		return errLost
	}
	if now.Sub(*s.bus.confirmed.Load()) > s.failAfter {
		return errStale
	}
	return nil
}

// LastEventApplied returns the id of the last event this node applied.
func (s *Service) LastEventApplied() int64 { return s.bus.last.Load() }

// EventLag reports how long ago the node last confirmed it was current.
func (s *Service) EventLag() time.Duration { return s.now().Sub(*s.bus.confirmed.Load()) }

// follow reads the event log until ctx ends: at every wake-up and every
// poll interval. Errors are logged; the fail-closed bound does the rest.
func (s *Service) follow(ctx context.Context) {
	t := time.NewTicker(s.pollEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.bus.wake:
		}
		// One read must not outlast the bound: a hung connection would
		// otherwise hold the catch-up past it.
		rctx, cancel := context.WithTimeout(ctx, max(s.pollEvery, time.Second))
		err := s.Sync(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			s.log.Error("cannot read the event log", "err", err)
		case err == nil && failing:
			failing = false
			s.log.Info("event log readable again", "last_event", s.bus.last.Load())
		}
	}
}

// Sync returns once the node has applied every event committed before it
// was called. Concurrent calls share reads of the log.
func (s *Service) Sync(ctx context.Context) error {
	ticket := s.bus.tickets.Add(1)
	select {
	case s.bus.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.bus.sem }()
	if s.bus.served.Load() >= ticket {
		return nil
	}
	cover := s.bus.tickets.Load()
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	s.bus.served.Store(cover)
	return nil
}

// settle is called by a change after it committed: the node applies the
// change's event (and any before it), so that what the event publishes
// has been published when the call returns. The change itself is already
// in memory; a failure here only delays the publication to Run's next
// read.
func (s *Service) settle(ctx context.Context) {
	// The change is done; a database that stops answering now must not
	// hold the caller past a short bound.
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := s.Sync(ctx); err != nil {
		s.Wake()
		s.log.Warn("event log not applied after a change; will retry", "err", err)
	}
}

// catchUp applies every event after the last applied. The caller holds
// sem.
func (s *Service) catchUp(ctx context.Context) error {
	start := s.now()
	for {
		page, err := s.store.Events(ctx, s.bus.last.Load(), eventPage)
		if errors.Is(err, store.ErrPruned) {
			if !s.bus.lost.Swap(true) {
				s.log.Error("events this node had not applied were pruned: it refuses validations until restarted", "last_event", s.bus.last.Load())
			}
			return err
		}
		if err != nil {
			eventReadErrors.Inc()
			return err
		}
		for _, e := range page {
			if err := s.apply(ctx, e); err != nil {
				return err
			}
			eventsApplied.WithLabelValues(string(e.Kind)).Inc()
			s.bus.last.Store(e.ID)
		}
		if len(page) < eventPage {
			break
		}
	}
	s.bus.confirmed.Store(&start)
	return nil
}

// apply brings memory up to date with one event and tells this node's live
// connections what concerns them. Applying an event twice is harmless.
func (s *Service) apply(ctx context.Context, e store.Event) error {
	switch e.Kind {
	case store.EventApp:
		if e.App != nil {
			s.putApp(*e.App)
		}
	case store.EventKey:
		if k := e.Key; k != nil {
			s.mu.Lock()
			if k.Active() {
				s.keys[k.ID] = k
			} else {
				delete(s.keys, k.ID)
			}
			s.mu.Unlock()
		}
	case store.EventUser:
		if e.User == nil {
			break
		}
		u := *e.User
		s.restrict(u, e.Sessions)
		switch {
		case u.Deleted && !e.WasDeleted:
			s.pub.UserDeleted(u)
		case u.Banned && !e.WasBanned && !u.Deleted:
			s.pub.UserBanned(u)
		case len(e.Sessions) > 0:
			s.pub.SessionsRevoked(u.AppID, sessionIDs(e.Sessions))
		}
	case store.EventSessions:
		s.markRevoked(e.Sessions...)
		byApp := map[string][]string{}
		for _, x := range e.Sessions {
			byApp[x.AppID] = append(byApp[x.AppID], x.ID)
		}
		for app, ids := range byApp {
			s.pub.SessionsRevoked(app, ids)
		}
	case store.EventToken:
		if t := e.Token; t != nil {
			s.mu.Lock()
			s.rev.revokeToken(t.Hash, t.ExpiresAt)
			s.mu.Unlock()
			s.pub.SessionsRevoked(t.AppID, []string{customerSessionID(t.Hash)})
		}
	case store.EventVerificationKey:
		if e.Removed {
			s.forgetVerificationKey(e.AppID, e.KeyID)
		} else if k := e.VerificationKey; k != nil {
			if err := s.addVerificationKey(*k); err != nil {
				// A key this node cannot use (its seal key differs) must not
				// stop the log: its tokens fail here, as they would at start.
				s.log.Error("verification key from the event log not usable on this node", "app_id", k.AppID, "key_id", k.ID, "err", err)
			}
		}
	case store.EventSigningKeys:
		return s.reloadRing(ctx, e.Emergency)
	case store.EventSecret:
		if e.Name == secretAdminToken {
			h, err := s.store.Secret(ctx, secretAdminToken)
			if err != nil {
				return err
			}
			s.adminHash.Store(&h)
		}
	case store.EventVisitorSecrets:
		if err := s.reloadVisitorSecrets(ctx, e.AppID); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.Unavailable {
				return err // the store: retried by the next read of the log
			}
			// Secrets this node cannot unseal (its seal key differs) must
			// not stop the log: their signatures fail here.
			s.log.Error("visitor secrets from the event log not usable on this node", "app_id", e.AppID, "err", err)
		}
	default:
		// A newer node wrote a kind this one does not know: skipping it
		// would answer from stale memory, so stop here (fail closed).
		return errors.New("unknown event kind " + string(e.Kind) + ": upgrade this node")
	}
	return nil
}

// reloadRing reads the signing keys again; after an emergency rotation
// every token verified with the old keys is forgotten.
func (s *Service) reloadRing(ctx context.Context, emergency bool) error {
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if err := s.openSigningKeys(ctx, keys, false); err != nil {
		return err
	}
	ring, err := token.NewRing(keys)
	if err != nil {
		return err
	}
	old := s.ring.Swap(ring)
	if emergency {
		s.verifier.Cache.Purge()
		// Live connections of tokens the withdrawn keys signed are closed,
		// as revocation closes a session's.
		var gone []string
		for _, kid := range old.KeyIDs() {
			if !ring.HasKey(kid) {
				gone = append(gone, kid)
			}
		}
		s.pub.SigningKeysWithdrawn(gone)
	}
	return nil
}

// eventRetention is how long events are kept: until every token they could
// concern has expired (the longest token lifetime of any app, customer
// tokens included), and at least a day.
func (s *Service) eventRetention() time.Duration {
	keep := 24 * time.Hour
	s.mu.RLock()
	for _, a := range s.apps {
		keep = max(keep, a.AccessTTL, a.CustomerTokenMaxTTL())
	}
	s.mu.RUnlock()
	return keep + 2*token.Leeway*time.Second
}
