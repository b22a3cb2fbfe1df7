package client

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// SessionHandler is asked for renewals of sessions made by Login.
type SessionHandler interface {
	// WillRenewAccessToken is called when the token is about to expire (or
	// has expired). The handler uses the renewal once, now or later from any
	// goroutine: Renew, RenewWithAuthToken (secure mode), or
	// UnableToRetrieveAuthToken to be asked again after Config.RetryDelay.
	WillRenewAccessToken(r *Renewal)
}

// SessionHandlerFunc adapts a function to SessionHandler.
type SessionHandlerFunc func(r *Renewal)

// WillRenewAccessToken calls f.
func (f SessionHandlerFunc) WillRenewAccessToken(r *Renewal) { f(r) }

// Renewal is one request to renew the access token. It can be used once.
type Renewal struct {
	c   *Client
	gen uint64
}

// Renew logs in again without an auth token (secure mode off), or as the
// same visitor or bot without a signature.
func (r *Renewal) Renew(ctx context.Context) error { return r.c.renew(ctx, r, renewCred{}) }

// RenewWithAuthToken logs in again with a fresh auth token (secure mode).
func (r *Renewal) RenewWithAuthToken(ctx context.Context, authToken string) error {
	return r.c.renew(ctx, r, renewCred{authToken: authToken})
}

// RenewWithAuthSignature logs a visitor in again with a fresh signature
// from the app's backend (secure visitor mode).
func (r *Renewal) RenewWithAuthSignature(ctx context.Context, p VisitorParams) error {
	return r.c.renew(ctx, r, renewCred{visitor: p})
}

// UnableToRetrieveAuthSignature declines this renewal of a visitor
// session, as UnableToRetrieveAuthToken does.
func (r *Renewal) UnableToRetrieveAuthSignature() error { return r.UnableToRetrieveAuthToken() }

// renewCred is what a renewal logs in again with.
type renewCred struct {
	authToken string
	visitor   VisitorParams
}

// UnableToRetrieveAuthToken declines this renewal; the handler is asked
// again after Config.RetryDelay.
func (r *Renewal) UnableToRetrieveAuthToken() error {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.takeRenewalLocked(r) {
		return ErrRenewalUsed
	}
	c.renewing = false
	c.retryAt = c.now().Add(c.cfg.RetryDelay)
	return nil
}

// takeRenewalLocked marks r used if it is the outstanding renewal. The
// client stays "renewing" (no new renewal is handed out) until the caller
// finishes and clears it.
func (c *Client) takeRenewalLocked(r *Renewal) bool {
	if !c.renewing || r.gen != c.gen || c.sess == nil {
		return false
	}
	c.gen++ // any copy of r is now void
	return true
}

// expiry classifies the held token at now, with the social.plus formulas:
// expired when now > expiresAt − 5 min; about to expire after issuedAt +
// threshold × (lifetime − 5 min).
func (c *Client) expiryLocked(now time.Time) (expired, aboutToExpire bool) {
	s := c.sess
	expired = now.After(s.expiresAt.Add(-ExpiryMargin))
	life := s.expiresAt.Sub(s.issuedAt) - ExpiryMargin
	renewAt := s.issuedAt.Add(time.Duration(c.cfg.RenewThreshold * float64(life)))
	return expired, now.After(renewAt)
}

// CheckExpiry runs one expiry check now, as the background loop does every
// Config.CheckInterval: when the token is about to expire or has expired it
// asks the handler for a renewal (expiry first moves the state to
// tokenExpired). Concurrent calls ask at most once: while a renewal is
// outstanding, or during the retry delay after a declined one, nothing
// happens.
func (c *Client) CheckExpiry(ctx context.Context) {
	c.mu.Lock()
	if c.closed || c.sess == nil || (c.state != gatehouse.Established && c.state != gatehouse.TokenExpired) {
		c.mu.Unlock()
		return
	}
	now := c.now()
	// An outstanding renewal the app never used is replaced after the retry
	// delay, so a forgotten renewal cannot stall the session forever.
	if (c.renewing && now.Before(c.renewAt.Add(c.cfg.RetryDelay))) || now.Before(c.retryAt) {
		c.mu.Unlock()
		return
	}
	expired, about := c.expiryLocked(now)
	if !expired && !about {
		c.mu.Unlock()
		return
	}
	if expired && c.state == gatehouse.Established {
		c.setStateLocked(gatehouse.TokenExpired, "")
	}
	c.gen++
	c.renewing, c.renewAt = true, now
	r := &Renewal{c: c, gen: c.gen}
	lt, h, th, uid := c.sess.loginType, c.handler, c.tokenH, c.sess.userID
	c.mu.Unlock()

	if lt == loginAccessToken {
		c.renewWithHandler(ctx, r, th, uid)
		return
	}
	h.WillRenewAccessToken(r)
}

// renew performs a Renewal: a new session on the same device. From
// tokenExpired the state moves through establishing back to established
// (or to notLoggedIn on failure); from established the token is swapped
// silently and a failure leaves the old one in place until the next check.
func (c *Client) renew(ctx context.Context, r *Renewal, cred renewCred) error {
	c.mu.Lock()
	if !c.takeRenewalLocked(r) {
		c.mu.Unlock()
		return ErrRenewalUsed
	}
	wasExpired := c.state == gatehouse.TokenExpired
	if wasExpired {
		c.setStateLocked(gatehouse.Establishing, "")
	}
	p := c.sess.authParams
	p.AuthToken = cred.authToken
	lt := c.sess.loginType
	sessGen := c.sessGen
	c.mu.Unlock()

	var (
		s   *session
		u   *wire.User
		err error
	)
	switch lt {
	case loginVisitor:
		s, u, err = c.createVisitorSession(ctx, gatehouse.Visitor, cred.visitor)
	case loginBot:
		s, u, err = c.createVisitorSession(ctx, gatehouse.Bot, VisitorParams{})
	default:
		s, u, err = c.createSession(ctx, p)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessGen != sessGen || c.sess == nil {
		// Logged out (or in again) meanwhile: drop this renewal's result.
		if wasExpired && c.state == gatehouse.Establishing {
			c.setStateLocked(gatehouse.NotLoggedIn, "")
		}
		return ErrNotLoggedIn
	}
	c.renewing = false
	if err != nil {
		c.retryAt = c.now().Add(c.cfg.RetryDelay)
		if wasExpired {
			c.setStateLocked(gatehouse.NotLoggedIn, "")
			c.clearLocked()
		} else if gatehouse.ErrorCode(err) == gatehouse.Unauthenticated && c.state == gatehouse.Established {
			c.terminateLocked(gatehouse.ReasonUnauthorized)
		}
		return err
	}
	if lt != loginVisitor && lt != loginBot {
		s.loginType = loginDefault
	}
	if !wasExpired {
		c.sess = s
		c.saveLocked(ctx)
		return nil
	}
	return c.establishLocked(ctx, s, u)
}

// renewWithHandler renews an access-token session: it asks the access-token
// handler for a new token and validates it with the server. On failure the
// handler is asked again after the retry delay; the state reflects expiry.
func (c *Client) renewWithHandler(ctx context.Context, r *Renewal, h AccessTokenHandler, userID string) {
	fail := func() {
		c.mu.Lock()
		if c.takeRenewalLocked(r) {
			c.renewing = false
			c.retryAt = c.now().Add(c.cfg.RetryDelay)
		}
		c.mu.Unlock()
	}
	if h == nil {
		fail()
		return
	}
	tok, err := h.OnTokenRenew(ctx, userID)
	if err != nil {
		c.log.Debug("access-token handler failed", "err", err)
		fail()
		return
	}
	claims, err := decodeAccessToken(tok, c.now())
	if err != nil || claims.userID != userID {
		fail()
		return
	}
	c.mu.Lock()
	if !c.takeRenewalLocked(r) {
		c.mu.Unlock()
		return
	}
	wasExpired := c.state == gatehouse.TokenExpired
	if wasExpired {
		c.setStateLocked(gatehouse.Establishing, "")
	}
	sessGen := c.sessGen
	c.mu.Unlock()

	u, ut, err := c.validateAccessToken(ctx, tok, userID)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessGen != sessGen || c.sess == nil {
		if wasExpired && c.state == gatehouse.Establishing {
			c.setStateLocked(gatehouse.NotLoggedIn, "")
		}
		return
	}
	c.renewing = false
	if err != nil {
		c.retryAt = c.now().Add(c.cfg.RetryDelay)
		if wasExpired {
			// The old token is past its expiry; wait in tokenExpired for
			// the next attempt: establishing may only go back to
			// notLoggedIn or forward, so go back and keep nothing.
			c.setStateLocked(gatehouse.NotLoggedIn, "")
			c.clearLocked()
		}
		return
	}
	s := &session{userID: u.UserID, internalID: u.InternalID, path: u.Path, loginType: loginAccessToken, userType: ut,
		accessToken: tok, issuedAt: claims.issuedAt, expiresAt: claims.expiresAt}
	if !wasExpired {
		c.sess = s
		c.saveLocked(ctx)
		return
	}
	c.establishLocked(ctx, s, u)
}
