package session

import (
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// revocationIndex is the in-memory revocation state that validation
// consults: revoked sessions, restricted users (banned, deleted, or with
// a "tokens issued before T are revoked" watermark), and revoked customer
// tokens. It is filled by Load from the store and changed only after the
// store has committed (by this node's writes and by the event applier in
// bus.go), so a lookup never runs ahead of what is durable.
//
// It holds no lock of its own: the Service guards it with its mutex,
// together with the app and key tables that the same lookups read, so
// validation takes one read lock. Entries are kept until GC finds every
// token they could refuse expired.
type revocationIndex struct {
	sessions map[string]time.Time // session id -> expiry of its newest token
	users    map[string]userFlags // internal user id -> restrictions
	tokens   map[string]time.Time // customer-token revocation key -> expiry
	// legacy: the store held customer-token revocations under the old key
	// (digest of the raw text) at start, so tokens are checked under both.
	legacy bool
}

// userFlags are a user's restrictions.
type userFlags struct {
	banned, deleted bool
	validAfter      time.Time // customer tokens issued at or before are refused
}

func newRevocationIndex() revocationIndex {
	return revocationIndex{sessions: map[string]time.Time{}, users: map[string]userFlags{}, tokens: map[string]time.Time{}}
}

// revokeSession records that session id is revoked until exp, the expiry
// of its newest token.
func (x *revocationIndex) revokeSession(id string, exp time.Time) { x.sessions[id] = exp }

// revokeSessions records each session as revoked until its expiry.
func (x *revocationIndex) revokeSessions(list []gatehouse.Session) {
	for _, s := range list {
		x.sessions[s.ID] = s.ExpiresAt
	}
}

// sessionRevoked reports whether session id is revoked.
func (x *revocationIndex) sessionRevoked(id string) bool {
	_, ok := x.sessions[id]
	return ok
}

// user returns the restrictions of the user with internal id (none: the
// zero userFlags).
func (x *revocationIndex) user(id string) userFlags { return x.users[id] }

// setUser records u's restrictions as stored: banned, deleted, tokens
// valid after; a user with none is forgotten.
func (x *revocationIndex) setUser(u gatehouse.User) {
	if u.Banned || u.Deleted || !u.TokensValidAfter.IsZero() {
		x.users[u.ID] = userFlags{banned: u.Banned, deleted: u.Deleted, validAfter: u.TokensValidAfter}
	} else {
		delete(x.users, u.ID)
	}
}

// forgetUser drops the restrictions of a user that no longer exists in the
// store (a purged visitor).
func (x *revocationIndex) forgetUser(id string) { delete(x.users, id) }

// revokeToken records that the customer token stored under key (see
// revocationKey) is revoked until exp.
func (x *revocationIndex) revokeToken(key string, exp time.Time) { x.tokens[key] = exp }

// loadToken is revokeToken for a revocation read from the store at start:
// one stored under a legacy key (legacyRevocationKey) makes tokens be
// checked under both keys from then on (see legacyKeys).
func (x *revocationIndex) loadToken(key string, exp time.Time) {
	x.tokens[key] = exp
	if isLegacyRevocationKey(key) {
		x.legacy = true
	}
}

// legacyKeys reports whether customer tokens must also be checked under
// their legacy revocation key.
func (x *revocationIndex) legacyKeys() bool { return x.legacy }

// tokenRevoked reports whether a customer token is revoked, by its
// revocation key or, when set, its legacy key.
func (x *revocationIndex) tokenRevoked(key, legacy string) bool {
	_, revoked := x.tokens[key]
	if !revoked && legacy != "" {
		_, revoked = x.tokens[legacy]
	}
	return revoked
}

// gc forgets the revocations whose tokens all expired before cutoff.
func (x *revocationIndex) gc(cutoff time.Time) {
	for id, exp := range x.sessions {
		if exp.Before(cutoff) {
			delete(x.sessions, id)
		}
	}
	for k, exp := range x.tokens {
		if exp.Before(cutoff) {
			delete(x.tokens, k)
		}
	}
}
