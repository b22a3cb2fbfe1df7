package session

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/bounded"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Config holds the service's settings.
type Config struct {
	// Issuer is the iss claim of access tokens.
	Issuer string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CacheBytes bounds the memory of the service's caches together
	// (default DefaultCacheBytes): a third for verified access tokens, a
	// third for user snapshots, a sixth for devices, the rest for customer
	// tokens and their users. A miss costs a signature check or a store
	// read, never a wrong answer.
	CacheBytes int
	// Publisher pushes session events to live connections; none when nil.
	// Build the broker first and pass it here (it authenticates through
	// the service only once it runs).
	Publisher Publisher
	// SealKey (32 bytes) encrypts the customers' HMAC secrets at rest; it is
	// kept outside the database. Without it HMAC keys cannot be registered.
	SealKey []byte
	// KeyFetcher fetches registered JWKS URLs; without it they cannot be
	// registered.
	KeyFetcher KeyFetcher
	// FailClosedAfter, when positive, is the bound after which a node that
	// has not confirmed it applied every event of the log (it cannot read
	// the database) refuses validations and key checks with Unavailable
	// rather than answer from stale memory. Zero: never. It is measured
	// with Now (time.Now's monotonic reading in production).
	FailClosedAfter time.Duration
	// PollEvery is how often Run reads the event log without a wake-up
	// (default 1 s).
	PollEvery time.Duration
	// VisitorRetention is how long visitor and bot users are kept after
	// their last token expired (gatehouse.DefaultVisitorRetention when
	// zero).
	VisitorRetention time.Duration
}

// Publisher pushes session events to clients' live connections (the
// realtime broker). It is called after the change is committed; it must
// not block for long.
type Publisher interface {
	// UserBanned tells the user's connections and closes them.
	UserBanned(u gatehouse.User)
	// UserDeleted tells the network and closes the user's connections.
	UserDeleted(u gatehouse.User)
	// SessionsRevoked closes the connections of those sessions.
	SessionsRevoked(appID string, sessionIDs []string)
	// SigningKeysWithdrawn closes the connections whose access token was
	// signed by one of those keys (emergency rotation).
	SigningKeysWithdrawn(kids []string)
}

type nopPublisher struct{}

func (nopPublisher) UserBanned(gatehouse.User)        {}
func (nopPublisher) UserDeleted(gatehouse.User)       {}
func (nopPublisher) SessionsRevoked(string, []string) {}
func (nopPublisher) SigningKeysWithdrawn([]string)    {}

// Service is the session service. Create it with New and call Load before
// use.
type Service struct {
	store  store.Store
	log    *slog.Logger
	pub    Publisher
	now    func() time.Time
	issuer string

	ring     atomic.Pointer[token.Ring]
	verifier token.Verifier
	authKey  token.AuthKey

	mu   sync.RWMutex
	apps map[string]*gatehouse.App
	keys map[string]*gatehouse.Key // active keys by id
	rev  revocationIndex           // revoked sessions, restricted users, revoked customer tokens (revocations.go)

	// Customer tokens.
	sealer    cipher.AEAD
	fetcher   KeyFetcher
	cverify   *customerVerifier                     // keys, JWKS, claims checks, verified-token cache (customerverifier.go)
	custUsers *bounded.Map[string, *gatehouse.User] // app+public id -> user

	// Caches for the login fast path, filled after committed logins.
	devices    *bounded.Map[deviceKey, deviceEntry]  // app+device -> session held
	userSnaps  *bounded.Map[string, *gatehouse.User] // internal user id -> user
	cacheBytes int

	adminHash atomic.Pointer[[]byte]

	bus       bus
	failAfter time.Duration
	pollEvery time.Duration

	seed maphash.Seed // of in-memory hashes that must not be predictable

	// Visitors.
	vsecrets         map[string][][]byte // app -> unsealed visitor secrets
	visitorUsers     [2]atomic.Int64     // visitors, bots (for the metrics)
	visitorRetention time.Duration

	ready readiness // for Ready
}

// New returns a service over st.
func New(st store.Store, log *slog.Logger, cfg Config) *Service {
	s := &Service{
		store:  st,
		log:    log,
		seed:   maphash.MakeSeed(),
		now:    cfg.Now,
		issuer: cfg.Issuer,
		apps:   map[string]*gatehouse.App{},
		keys:   map[string]*gatehouse.Key{},
		rev:    newRevocationIndex(),

		fetcher: cfg.KeyFetcher,

		bus:       bus{sem: make(chan struct{}, 1), wake: make(chan struct{}, 1)},
		failAfter: cfg.FailClosedAfter,
		pollEvery: cfg.PollEvery,

		vsecrets:         map[string][][]byte{},
		visitorRetention: cfg.VisitorRetention,
	}
	if s.visitorRetention <= 0 {
		s.visitorRetention = gatehouse.DefaultVisitorRetention
	}
	if s.pollEvery <= 0 {
		s.pollEvery = defaultPollEvery
		if s.failAfter > 0 {
			s.pollEvery = min(s.pollEvery, s.failAfter/4)
		}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.pub = cfg.Publisher
	if s.pub == nil {
		s.pub = nopPublisher{}
	}
	// A bad seal key is a programmer error caught at startup (cmd checks
	// its length first).
	sealer, err := newSealer(cfg.SealKey)
	if err != nil {
		panic(err)
	}
	s.sealer = sealer
	if s.issuer == "" {
		s.issuer = "gatehouse"
	}
	s.cacheBytes = cfg.CacheBytes
	if s.cacheBytes <= 0 {
		s.cacheBytes = DefaultCacheBytes
	}
	s.verifier = token.Verifier{Ring: s.ring.Load, Cache: token.NewCache(s.cacheBytes / 3)}
	s.userSnaps = bounded.New(s.cacheBytes/3, userSnapSize)
	s.devices = bounded.New(s.cacheBytes/6, deviceSize)
	s.custUsers = bounded.New(s.cacheBytes/12, custUserSize)
	s.cverify = newCustomerVerifier(s.fetcher, s.log, s.now, s.cacheBytes/12)
	return s
}

// Secret names in the store.
const (
	secretAuthKey    = "auth_token_key"
	secretAdminToken = "admin_token_sha256"
)

// Load reads the state that validation needs from the store, creating the
// signing key and the auth-token key on first start.
func (s *Service) Load(ctx context.Context) error {
	// Events up to here are in what is read below; later ones are applied
	// on top (applying one twice is harmless).
	start := s.now()
	last, err := s.store.LastEventID(ctx)
	if err != nil {
		return fmt.Errorf("read the event log: %w", err)
	}
	s.bus.last.Store(last)
	s.bus.confirmed.Store(&start)
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if err := s.openSigningKeys(ctx, keys, true); err != nil {
		return err
	}
	if len(keys) == 0 {
		k, err := token.NewSigningKey(s.now())
		if err != nil {
			return err
		}
		if err := s.store.AddSigningKey(ctx, s.sealedKey(k)); err != nil {
			return fmt.Errorf("store signing key: %w", err)
		}
		keys = append(keys, k)
	}
	ring, err := token.NewRing(keys)
	if err != nil {
		return err
	}
	s.ring.Store(ring)

	if s.authKey, err = s.loadAuthKey(ctx); err != nil {
		return err
	}

	apps, err := s.store.ListApps(ctx)
	if err != nil {
		return fmt.Errorf("load apps: %w", err)
	}
	active, err := s.store.AllActiveKeys(ctx)
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	revoked, err := s.store.ListRevokedSessions(ctx, s.now().Add(-token.Leeway*time.Second))
	if err != nil {
		return fmt.Errorf("load revoked sessions: %w", err)
	}
	restricted, err := s.store.ListRestrictedUsers(ctx)
	if err != nil {
		return fmt.Errorf("load restricted users: %w", err)
	}
	vkeys, err := s.store.AllVerificationKeys(ctx)
	if err != nil {
		return fmt.Errorf("load verification keys: %w", err)
	}
	revokedTokens, err := s.store.ListRevokedTokens(ctx, s.now().Add(-token.Leeway*time.Second))
	if err != nil {
		return fmt.Errorf("load revoked tokens: %w", err)
	}
	vsecrets, err := s.store.AllVisitorSecrets(ctx)
	if err != nil {
		return fmt.Errorf("load visitor secrets: %w", err)
	}
	if err := s.recountVisitors(ctx); err != nil {
		return fmt.Errorf("count visitor users: %w", err)
	}
	byApp := map[string][]gatehouse.VisitorSecret{}
	for _, v := range vsecrets {
		byApp[v.AppID] = append(byApp[v.AppID], v)
	}
	unsealed := map[string][][]byte{}
	for app, list := range byApp {
		if unsealed[app], err = s.unsealVisitorSecrets(list); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range apps {
		s.apps[apps[i].ID] = &apps[i]
	}
	for i := range active {
		s.keys[active[i].ID] = &active[i]
	}
	for _, r := range revoked {
		s.rev.revokeSession(r.ID, r.ExpiresAt)
	}
	for _, u := range restricted {
		s.rev.setUser(u)
	}
	for _, k := range vkeys {
		ck, err := s.loadVerificationKey(k)
		if err != nil {
			return err
		}
		s.cverify.addKey(k, ck)
	}
	for _, t := range revokedTokens {
		s.rev.loadToken(t.Hash, t.ExpiresAt)
	}
	s.vsecrets = unsealed
	if h, err := s.store.Secret(ctx, secretAdminToken); err == nil {
		s.adminHash.Store(&h)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load admin token: %w", err)
	}
	s.ready.loaded.Store(true)
	return nil
}

// JWKS returns the public signing keys as a JWK Set document.
func (s *Service) JWKS() []byte { return s.ring.Load().JWKS() }

// Run does background work until ctx ends: it follows the event log, forgets
// revocations whose tokens have all expired, and purges sessions and events
// long expired.
func (s *Service) Run(ctx context.Context) error {
	go s.follow(ctx)
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.GC(ctx)
		}
	}
}

// SessionRetention is how long expired sessions stay listed before purging.
const SessionRetention = 30 * 24 * time.Hour

// GC drops in-memory revocations that can no longer matter and purges old
// sessions from the store.
func (s *Service) GC(ctx context.Context) {
	cutoff := s.now().Add(-2 * token.Leeway * time.Second)
	s.mu.Lock()
	s.rev.gc(cutoff)
	s.mu.Unlock()
	if n, err := s.store.PurgeSessions(ctx, s.now().Add(-SessionRetention)); err != nil {
		s.log.Error("purge sessions", "err", err)
	} else if n > 0 {
		s.log.Info("purged expired sessions", "count", n)
	}
	// Events carry the writer's wall clock, not the service clock.
	if n, err := s.store.PruneEvents(ctx, time.Now().Add(-s.eventRetention())); err != nil {
		s.log.Error("prune events", "err", err)
	} else if n > 0 {
		s.log.Info("pruned old events", "count", n)
	}
	if _, err := s.PurgeConsoleSessions(ctx); err != nil {
		s.log.Error("purge console sessions", "err", err)
	}
	s.purgeVisitors(ctx)
}

// Admin credentials.

// MinAdminTokenLen is the shortest admin token accepted.
const MinAdminTokenLen = 32

// CheckAdminToken refuses an admin token shorter than MinAdminTokenLen or
// one that does not look random (the check HMAC secrets pass): the admin
// token is a bearer credential for everything, guessed offline never but
// online at the rate limits allow.
func CheckAdminToken(tok gatehouse.Secret) error {
	if len(tok.Reveal()) < MinAdminTokenLen || token.WeakSecret([]byte(tok.Reveal())) {
		return gatehouse.Errorf(gatehouse.Invalid,
			"admin token must be at least %d random characters (for example the output of: openssl rand -hex 32)", MinAdminTokenLen)
	}
	return nil
}

// SetAdminToken stores the digest of an operator-chosen admin token,
// replacing any earlier one. The token must pass CheckAdminToken.
func (s *Service) SetAdminToken(ctx context.Context, tok gatehouse.Secret) error {
	if err := CheckAdminToken(tok); err != nil {
		return err
	}
	h := digest(tok.Reveal())
	if err := s.store.SetSecret(ctx, secretAdminToken, h); err != nil {
		return err
	}
	s.adminHash.Store(&h)
	s.settle(ctx)
	return nil
}

// HasAdminToken reports whether an admin token is configured.
func (s *Service) HasAdminToken() bool { return s.adminHash.Load() != nil }

// NewAdminToken returns a new random admin token (256 bits).
func NewAdminToken() gatehouse.Secret {
	return gatehouse.Secret("gha_" + randomHex(32))
}

// CheckAdmin reports whether tok is the admin token, in constant time.
func (s *Service) CheckAdmin(tok string) bool {
	h := s.adminHash.Load()
	if h == nil || tok == "" {
		return false
	}
	return subtle.ConstantTimeCompare(digest(tok), *h) == 1
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	randRead(b)
	return hex.EncodeToString(b)
}

func randRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		// crypto/rand.Read does not fail on supported platforms (Go 1.24+).
		panic(err)
	}
}

// storeErr translates a store error for callers.
func storeErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return gatehouse.Wrap(gatehouse.NotFound, err, what+" not found")
	case errors.Is(err, store.ErrConflict):
		return gatehouse.Wrap(gatehouse.Conflict, err, what+" already exists")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return gatehouse.Wrap(gatehouse.Unavailable, err, "request timed out")
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	return gatehouse.Wrap(gatehouse.Unavailable, err, "storage unavailable, try again")
}

// DefaultCacheBytes is the default memory bound of the caches, about 3 KB
// for each of 250,000 sessions (a session's entries take under 1 KiB: see
// BenchmarkSessionMemory).
const DefaultCacheBytes = 768 << 20

// Entry sizes, as the caches count them: the map slot (key, value, control
// byte at the load factor) plus what the entry alone references, rounded
// as the allocator does.
const (
	userSize  = 176 // gatehouse.User as allocated
	slotExtra = 8
)

func strSize(s string) int { return (len(s) + 15) &^ 15 }

// userSnapSize: the key is the user's id, shared with the snapshot, and the
// app id is interned (internApp).
func userSnapSize(id string, u *gatehouse.User) int {
	return 16 + 8 + slotExtra + userSize + strSize(id) + strSize(u.UserID) + strSize(u.DisplayName)
}

func custUserSize(k string, u *gatehouse.User) int {
	return 16 + 8 + slotExtra + strSize(k) + userSize + strSize(u.ID) + strSize(u.AppID) + strSize(u.UserID) + strSize(u.DisplayName)
}

// internApp makes u share its app id with the app table. The caller holds
// s.mu.
func (s *Service) internApp(u *gatehouse.User) {
	if a := s.apps[u.AppID]; a != nil {
		u.AppID = a.ID
	}
}

func sessionIDs(list []gatehouse.Session) []string {
	ids := make([]string, len(list))
	for i, x := range list {
		ids[i] = x.ID
	}
	return ids
}

// sealedKey is k as stored: its seed sealed.
func (s *Service) sealedKey(k token.SigningKey) token.SigningKey {
	k.Seed = s.sealServer(k.Seed, seedPurpose(k.ID))
	return k
}

// SigningKeys lists the key ring (without private parts).
func (s *Service) SigningKeys(ctx context.Context) ([]token.SigningKey, error) {
	keys, err := s.store.SigningKeys(ctx)
	for i := range keys {
		keys[i].Seed = nil
	}
	return keys, storeErr(err, "signing key")
}

// RotateSigningKey puts a new signing key in service. Graceful rotation
// keeps the old keys verifying, so tokens they signed live until their
// own expiry; emergency rotation deletes them, so every token issued
// before is refused at once (everyone must log in again).
func (s *Service) RotateSigningKey(ctx context.Context, emergency bool) (token.SigningKey, error) {
	k, err := token.NewSigningKey(s.now())
	if err != nil {
		return k, gatehouse.Wrap(gatehouse.Internal, err, "could not generate a key")
	}
	if err := s.store.RotateSigningKey(ctx, s.sealedKey(k), emergency); err != nil {
		return k, storeErr(err, "signing key")
	}
	if err := s.reloadRing(ctx, emergency); err != nil {
		return k, storeErr(err, "signing key")
	}
	s.settle(ctx)
	s.log.Warn("signing key rotated", "kid", k.ID, "emergency", emergency)
	k.Seed = nil
	return k, nil
}
