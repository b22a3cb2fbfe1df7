package client

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// VisitorParams are the parameters of LoginAsVisitor. Both fields are
// needed only when the app is in secure visitor mode: a signature of this
// client's device id (Client.DeviceID) and its expiry, made by the app's
// backend with a visitor secret (see mint.VisitorSignature).
type VisitorParams struct {
	AuthSignature          string
	AuthSignatureExpiresAt string
}

// LoginAsVisitor logs this device in as a visitor
// (POST /api/v5/sessions/visitor): a read-only session without an account,
// the same user every time for the same device. The state moves as for
// Login; h is asked for renewals, which a visitor session performs with
// Renewal.Renew, or RenewWithAuthSignature in secure visitor mode.
// Visitor sessions never open the realtime connection (the server refuses
// it).
func (c *Client) LoginAsVisitor(ctx context.Context, p VisitorParams, h SessionHandler) error {
	return c.loginReadOnly(ctx, gatehouse.Visitor, p, h)
}

// LoginAsBot logs this device in as a bot (POST /api/v5/sessions/bot): a
// read-only session for crawlers and indexers. Renewals use Renewal.Renew.
func (c *Client) LoginAsBot(ctx context.Context, h SessionHandler) error {
	return c.loginReadOnly(ctx, gatehouse.Bot, VisitorParams{}, h)
}

// UserType returns the kind of the session held — signed-in, visitor or
// bot — or "" when there is none (the social.plus getCurrentUserType).
func (c *Client) UserType() gatehouse.UserType {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return ""
	}
	return c.sess.userType
}

func (c *Client) loginReadOnly(ctx context.Context, typ gatehouse.UserType, p VisitorParams, h SessionHandler) error {
	if h == nil {
		h = SessionHandlerFunc(func(*Renewal) {})
	}
	if err := c.beginLoginAs(typ); err != nil {
		return err
	}
	s, u, err := c.createVisitorSession(ctx, typ, p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.setStateLocked(gatehouse.NotLoggedIn, "")
		return err
	}
	c.handler = h
	return c.establishLocked(ctx, s, u)
}

// beginLoginAs moves to establishing for a visitor or bot login, whose user
// the client does not know before the answer: a session of another kind is
// logged out locally first; the same kind is the same user of this device.
func (c *Client) beginLoginAs(typ gatehouse.UserType) error {
	c.mu.Lock()
	userID := ""
	if c.sess != nil && c.sess.userType == typ {
		userID = c.sess.userID
	}
	c.mu.Unlock()
	return c.beginLogin(userID)
}

// createVisitorSession calls POST /api/v5/sessions/visitor or /bot. As the
// social.plus SDKs do, it takes the first user of the answer.
func (c *Client) createVisitorSession(ctx context.Context, typ gatehouse.UserType, p VisitorParams) (*session, *wire.User, error) {
	c.mu.Lock()
	dev := c.deviceIDLocked()
	c.mu.Unlock()
	req := wire.VisitorLoginRequest{DeviceID: dev, DeviceInfo: c.cfg.DeviceInfo,
		AuthSignature: p.AuthSignature, AuthSignatureExpiresAt: p.AuthSignatureExpiresAt}
	var resp wire.Session
	hdr := http.Header{"X-Api-Key": {c.cfg.APIKey}}
	if err := c.send(ctx, http.MethodPost, "/api/v5/sessions/"+string(typ), hdr, req, &resp); err != nil {
		return nil, nil, err
	}
	if len(resp.Users) == 0 {
		return nil, nil, ErrUserNotFound
	}
	u := &resp.Users[0]
	iat, err1 := time.Parse(time.RFC3339Nano, resp.IssuedAt)
	exp, err2 := time.Parse(time.RFC3339Nano, resp.ExpiresAt)
	if resp.AccessToken == "" || err1 != nil || err2 != nil {
		return nil, nil, &gatehouse.Error{Code: gatehouse.Internal, Message: "the session answer lacks accessToken, issuedAt or expiresAt"}
	}
	ut := gatehouse.UserType(resp.UserType)
	if ut == "" {
		ut = typ
	}
	lt := loginVisitor
	if typ == gatehouse.Bot {
		lt = loginBot
	}
	return &session{userID: u.UserID, internalID: u.InternalID, path: u.Path, loginType: lt, userType: ut,
		accessToken: resp.AccessToken, issuedAt: iat, expiresAt: exp}, u, nil
}
