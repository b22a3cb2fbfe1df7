package session

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/bounded"
	"github.com/gatehouse-auth/gatehouse/token"
)

// customerVerifier checks customer-signed tokens: it holds each app's
// verification keys (HMAC and public keys in memory, JWKS URLs fetched on
// use through the KeyFetcher, refetched once on an unknown key), checks a
// token's signature and claims against them and its app's settings, and
// caches the tokens it verified (bounded by bytes), keyed by their text.
//
// It knows no store, no users and no revocations: the Service maps a
// verified token to its user (creating it on first use), remembers the
// result here, and applies the revocation index (revocations.go) on every
// use. It has its own lock.
type customerVerifier struct {
	now        func() time.Time
	log        *slog.Logger
	fetcher    KeyFetcher // nil: JWKS keys cannot be used
	cacheBytes int

	mu    sync.RWMutex
	keys  map[string][]token.CustomerKey         // app -> static keys
	jwks  map[string][]gatehouse.VerificationKey // app -> JWKS keys
	cache *bounded.Map[string, *customerToken]   // verified tokens
}

func newCustomerVerifier(fetcher KeyFetcher, log *slog.Logger, now func() time.Time, cacheBytes int) *customerVerifier {
	v := &customerVerifier{now: now, log: log, fetcher: fetcher, cacheBytes: cacheBytes,
		keys: map[string][]token.CustomerKey{}, jwks: map[string][]gatehouse.VerificationKey{}}
	v.cache = v.newCache()
	return v
}

// newCache returns an empty cache of verified customer tokens, keyed by
// their text (they come from outside, in any form).
func (v *customerVerifier) newCache() *bounded.Map[string, *customerToken] {
	return bounded.New(v.cacheBytes, func(raw string, ct *customerToken) int {
		return 16 + 8 + slotExtra + strSize(raw) + 160 + strSize(ct.userInternalID) + strSize(ct.publicID) + strSize(ct.hash) + strSize(ct.legacy)
	})
}

// cached returns the verified token of raw if it is cached: nil when it is
// not, errTokenExpired when it is but has expired since.
func (v *customerVerifier) cached(raw string) (*customerToken, error) {
	v.mu.RLock()
	ct := v.cache.Get(raw)
	v.mu.RUnlock()
	if ct != nil && !v.now().Before(ct.expiresAt.Add(token.Leeway*time.Second)) {
		return nil, errTokenExpired
	}
	return ct, nil
}

// remember caches a verified token under its text.
func (v *customerVerifier) remember(raw string, ct *customerToken) {
	v.mu.Lock()
	v.cache.Put(raw, ct)
	v.mu.Unlock()
}

// forgetVerified drops every cached token: they were verified against
// keys or app settings that changed.
func (v *customerVerifier) forgetVerified() {
	v.mu.Lock()
	v.cache = v.newCache()
	v.mu.Unlock()
}

// verify checks raw's signature against the keys of app a (the app its
// unverified payload names) and its claims against a's settings at now:
// issuer, audience, lifetime, expiry, that the verified claims name the
// app, and the user id's form. It returns the claims and now.
func (v *customerVerifier) verify(ctx context.Context, raw string, a *gatehouse.App) (*token.CustomerClaims, time.Time, error) {
	v.mu.RLock()
	keys := append([]token.CustomerKey(nil), v.keys[a.ID]...)
	jw := append([]gatehouse.VerificationKey(nil), v.jwks[a.ID]...)
	v.mu.RUnlock()
	if len(keys) == 0 && len(jw) == 0 {
		return nil, time.Time{}, errTokenInvalid
	}
	want := token.CustomerExpectations{Now: v.now(), Issuer: a.TokenIssuer, Audience: a.TokenAudience, MaxTTL: a.CustomerTokenMaxTTL()}
	withJWKS := func(refresh bool) []token.CustomerKey {
		all := keys
		for _, k := range jw {
			fetched, err := v.fetcher.Keys(ctx, k.ID, k.JWKSURL, refresh)
			if err != nil {
				v.log.Warn("JWKS unavailable", "app_id", a.ID, "key_id", k.ID, "err", err)
				continue
			}
			for _, f := range fetched {
				if string(f.Alg) == k.Alg {
					all = append(all, f)
				}
			}
		}
		return all
	}
	claims, err := token.VerifyCustomer(raw, withJWKS(false), want)
	if errors.Is(err, token.ErrUnknownKey) && len(jw) > 0 {
		claims, err = token.VerifyCustomer(raw, withJWKS(true), want)
	}
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, time.Time{}, errTokenExpired
	case err != nil:
		return nil, time.Time{}, gatehouse.Wrap(gatehouse.Unauthenticated, err, errTokenInvalid.Message)
	}
	// The token must name its app in verified claims, not only in the
	// unverified peek that chose the keys.
	if claims.NetworkID != a.ID && !(claims.NetworkID == "" && slices.Contains(claims.Audience, a.ID)) {
		return nil, time.Time{}, errTokenInvalid
	}
	if err := gatehouse.ValidateUserID(claims.PublicUserID); err != nil {
		return nil, time.Time{}, gatehouse.Wrap(gatehouse.Unauthenticated, err, errTokenInvalid.Message)
	}
	return claims, want.Now, nil
}

// addKey puts a verification key in service unless it is there already:
// ck is its loaded form (HMAC or public key), nil for a JWKS URL.
func (v *customerVerifier) addKey(k gatehouse.VerificationKey, ck *token.CustomerKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, x := range v.keys[k.AppID] {
		if x.ID == k.ID {
			return
		}
	}
	for _, x := range v.jwks[k.AppID] {
		if x.ID == k.ID {
			return
		}
	}
	if ck != nil {
		v.keys[k.AppID] = append(v.keys[k.AppID], *ck)
	} else {
		v.jwks[k.AppID] = append(v.jwks[k.AppID], k)
	}
}

// removeKey takes a key out of service and drops the cached tokens, some
// of which it may have verified.
func (v *customerVerifier) removeKey(appID, keyID string) {
	v.mu.Lock()
	keep := v.keys[appID][:0:0]
	for _, k := range v.keys[appID] {
		if k.ID != keyID {
			keep = append(keep, k)
		}
	}
	v.keys[appID] = keep
	jk := v.jwks[appID][:0:0]
	for _, k := range v.jwks[appID] {
		if k.ID != keyID {
			jk = append(jk, k)
		}
	}
	v.jwks[appID] = jk
	v.cache = v.newCache()
	v.mu.Unlock()
}

// cacheStats reports the cached tokens and the bytes they count.
func (v *customerVerifier) cacheStats() (entries, bytes int) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.cache.Len(), v.cache.Bytes()
}
