package session

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Principal is the verified identity behind an access token.
type Principal struct {
	AppID          string
	UserInternalID string // internal id
	PublicUserID   string
	SessionID      string
	KeyID          string // kid of a Gatehouse token's signing key; empty for customer tokens
	IssuedAt       time.Time
	ExpiresAt      time.Time
	// UserType is signed-in, visitor or bot; visitors and bots are
	// read-only.
	UserType gatehouse.UserType
}

var (
	errTokenInvalid = gatehouse.Errorf(gatehouse.Unauthenticated, "Invalid access token")
	errTokenExpired = gatehouse.Errorf(gatehouse.Unauthenticated, "Access token has expired")
	errTokenRevoked = gatehouse.Errorf(gatehouse.Unauthenticated, "Access token has been revoked")
	errUserGone     = gatehouse.Errorf(gatehouse.Unauthenticated, "User has been deleted")
)

// Ended reports whether an authentication error means the token will never
// work again — revoked, or its user banned or deleted — as opposed to a
// token that is malformed, forged or merely expired.
func Ended(err error) bool {
	return errors.Is(err, errTokenRevoked) || errors.Is(err, errUserGone) || errors.Is(err, errUserBanned) ||
		errors.Is(err, errReadOnlyRealtime)
}

// Authenticate verifies an access token: signature, type, claims, expiry,
// then the in-memory revocation state. A Gatehouse token needs no I/O. A
// token that is not Gatehouse's is tried as a customer-signed token of the
// app it names (which may fetch a registered JWKS, and creates the user on
// first use).
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	now := s.now()
	if err := s.currentAt(now); err != nil {
		return Principal{}, err
	}
	c, err := s.verifier.Verify(raw, token.Expectations{Issuer: s.issuer, Now: now})
	if err != nil {
		if errors.Is(err, token.ErrExpired) {
			return Principal{}, errTokenExpired
		}
		if !token.IsAccessToken(raw) {
			ct, cerr := s.verifyCustomer(ctx, raw)
			if cerr != nil {
				return Principal{}, cerr
			}
			return s.checkCustomer(ct)
		}
		return Principal{}, gatehouse.Wrap(gatehouse.Unauthenticated, err, errTokenInvalid.Message)
	}
	s.mu.RLock()
	_, appOK := s.apps[c.Audience]
	flags := s.rev.user(c.Subject)
	revoked := s.rev.sessionRevoked(c.SessionID)
	s.mu.RUnlock()
	switch {
	case !appOK:
		return Principal{}, errTokenInvalid
	case flags.deleted:
		return Principal{}, errUserGone
	case flags.banned:
		return Principal{}, errUserBanned
	case revoked:
		return Principal{}, errTokenRevoked
	}
	iat, exp := c.Issued()
	return Principal{AppID: c.Audience, UserInternalID: c.Subject, PublicUserID: c.User.PublicUserID, SessionID: c.SessionID, KeyID: c.KeyID, IssuedAt: iat, ExpiresAt: exp,
		UserType: gatehouse.UserType(c.UserType).OrSignedIn()}, nil
}

// Logout revokes the session of the presented access token (secure
// logout). The session's other tokens on that device die with it; the
// user's other devices are untouched. The token must be genuine and
// unexpired; a token already revoked (or of a banned or deleted user) is
// accepted, so that a repeated logout succeeds.
func (s *Service) Logout(ctx context.Context, raw string) error {
	c, err := s.verifier.Verify(raw, token.Expectations{Issuer: s.issuer, Now: s.now()})
	if err != nil {
		if errors.Is(err, token.ErrExpired) {
			return errTokenExpired
		}
		if !token.IsAccessToken(raw) {
			ct, cerr := s.verifyCustomer(ctx, raw)
			if cerr != nil {
				return cerr
			}
			return s.logoutCustomer(ctx, ct)
		}
		return gatehouse.Wrap(gatehouse.Unauthenticated, err, errTokenInvalid.Message)
	}
	sess, err := s.store.RevokeSession(ctx, c.Audience, c.SessionID, s.now().UTC())
	if err != nil {
		return storeErr(err, "session")
	}
	s.markRevoked(sess)
	revokedLogout.Inc()
	s.settle(ctx) // closes the session's connections
	s.log.Info("session revoked by secure logout", "app_id", c.Audience, "session_id", c.SessionID)
	return nil
}

// BadCredential reports whether err says a presented credential was wrong
// — an API key, a server key or a secure-mode auth token — and which,
// for the per-address failure limits of internal/ratelimit. An expired
// auth token is not a guess and does not count.
func BadCredential(err error) (ratelimit.Credential, bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, errBadAPIKey):
		return ratelimit.APIKey, true
	case errors.Is(err, errBadServerKey):
		return ratelimit.ServerKey, true
	case errors.Is(err, errAuthTokenInvalid):
		return ratelimit.AuthToken, true
	}
	return "", false
}
