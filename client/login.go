package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// LoginParams are the parameters of Login.
type LoginParams struct {
	UserID      string
	DisplayName string // optional; ignored by the server in secure mode
	AuthToken   string // required when the app is in secure mode
}

// Login logs a user in (POST /api/v5/sessions) and keeps h for renewals.
// The state moves to establishing, then to established, or back to
// notLoggedIn on failure. A user the server reports as deleted or banned
// ends in terminated, with the reason, as in the social.plus SDKs.
func (c *Client) Login(ctx context.Context, p LoginParams, h SessionHandler) error {
	if h == nil {
		h = SessionHandlerFunc(func(*Renewal) {})
	}
	if err := c.beginLogin(p.UserID); err != nil {
		return err
	}
	s, u, err := c.createSession(ctx, p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.setStateLocked(gatehouse.NotLoggedIn, "")
		return err
	}
	s.loginType = loginDefault
	c.handler = h
	return c.establishLocked(ctx, s, u)
}

// beginLogin moves to establishing, logging out locally first if another
// user holds the session.
func (c *Client) beginLogin(userID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.state == gatehouse.Establishing {
		return ErrLoginInProgress
	}
	if c.sess != nil && c.sess.userID != userID && c.state == gatehouse.Established {
		c.setStateLocked(gatehouse.NotLoggedIn, "")
		c.clearLocked()
	}
	return c.setStateLocked(gatehouse.Establishing, "")
}

// createSession calls POST /api/v5/sessions.
func (c *Client) createSession(ctx context.Context, p LoginParams) (*session, *wire.User, error) {
	c.mu.Lock()
	dev := c.deviceIDLocked()
	c.mu.Unlock()
	req := wire.LoginRequest{UserID: p.UserID, DeviceID: dev, DeviceInfo: c.cfg.DeviceInfo, AuthToken: p.AuthToken}
	if p.DisplayName != "" {
		req.DisplayName = &p.DisplayName
	}
	var resp wire.Session
	if err := c.send(ctx, http.MethodPost, "/api/v5/sessions", http.Header{"X-Api-Key": {c.cfg.APIKey}}, req, &resp); err != nil {
		return nil, nil, err
	}
	u := findUser(resp.Users, p.UserID)
	if u == nil {
		return nil, nil, ErrUserNotFound
	}
	iat, err1 := time.Parse(time.RFC3339Nano, resp.IssuedAt)
	exp, err2 := time.Parse(time.RFC3339Nano, resp.ExpiresAt)
	if resp.AccessToken == "" || err1 != nil || err2 != nil {
		return nil, nil, &gatehouse.Error{Code: gatehouse.Internal, Message: "the session answer lacks accessToken, issuedAt or expiresAt"}
	}
	ut := gatehouse.UserType(resp.UserType)
	if ut == "" {
		ut = gatehouse.SignedIn
	}
	return &session{userID: u.UserID, internalID: u.InternalID, path: u.Path, accessToken: resp.AccessToken, userType: ut,
		issuedAt: iat, expiresAt: exp, authParams: LoginParams{UserID: p.UserID}}, u, nil
}

func findUser(users []wire.User, userID string) *wire.User {
	for i := range users {
		if users[i].UserID == userID {
			return &users[i]
		}
	}
	return nil
}

// establishLocked finishes a login from establishing: deleted or banned
// users are established then terminated (the social.plus order), others
// established and saved.
func (c *Client) establishLocked(ctx context.Context, s *session, u *wire.User) error {
	c.sess = s
	c.gen++
	c.sessGen++
	c.renewing, c.retryAt = false, time.Time{}
	if err := c.setStateLocked(gatehouse.Established, ""); err != nil {
		c.sess = nil
		return err
	}
	switch {
	case u.IsDeleted:
		c.terminateLocked(gatehouse.ReasonUserDeleted)
		return ErrUserDeleted
	case u.IsGlobalBan || u.IsGlobalBanned:
		c.terminateLocked(gatehouse.ReasonGlobalBan)
		return ErrUserBanned
	}
	c.saveLocked(ctx)
	return nil
}

// clearLocked drops the session and any outstanding renewal.
func (c *Client) clearLocked() {
	c.stopRealtimeLocked()
	c.sess = nil
	c.gen++
	c.sessGen++
	c.renewing, c.retryAt = false, time.Time{}
	if c.cfg.Store != nil {
		c.cfg.Store.Clear(context.Background())
	}
}

// Logout ends the session locally: the token is dropped (and the saved
// session cleared) without telling the server, which keeps the token valid
// until it expires. Use SecureLogout to revoke it. From established the
// state moves to notLoggedIn; in the other states (tokenExpired,
// terminated) the state machine allows no such move, so only the local data
// is dropped and the next Login starts over.
func (c *Client) Logout(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == gatehouse.Established {
		c.setStateLocked(gatehouse.NotLoggedIn, "")
	}
	c.clearLocked()
	return nil
}

// SecureLogout revokes the session's token on the server
// (DELETE /api/v4/sessions) and then logs out locally. If revocation fails
// the client stays logged in and the error is returned, as the social.plus
// documentation requires.
func (c *Client) SecureLogout(ctx context.Context) error {
	c.mu.Lock()
	if c.sess == nil {
		c.mu.Unlock()
		return ErrNotLoggedIn
	}
	tok := c.sess.accessToken
	c.mu.Unlock()
	var ok wire.Success
	if err := c.send(ctx, http.MethodDelete, "/api/v4/sessions", bearer(tok), nil, &ok); err != nil {
		return err
	}
	if !ok.Success {
		return &gatehouse.Error{Code: gatehouse.Internal, Message: "Failed to logout"}
	}
	return c.Logout(ctx)
}

// AccessTokenHandler supplies new customer-signed access tokens.
type AccessTokenHandler interface {
	// OnTokenRenew returns a new access token for the user.
	OnTokenRenew(ctx context.Context, userID string) (string, error)
}

// AccessTokenHandlerFunc adapts a function to AccessTokenHandler.
type AccessTokenHandlerFunc func(ctx context.Context, userID string) (string, error)

// OnTokenRenew calls f.
func (f AccessTokenHandlerFunc) OnTokenRenew(ctx context.Context, userID string) (string, error) {
	return f(ctx, userID)
}

// SetAccessTokenHandler registers the handler that LoginWithAccessToken
// needs and that renews access-token sessions.
func (c *Client) SetAccessTokenHandler(h AccessTokenHandler) {
	c.mu.Lock()
	c.tokenH = h
	c.mu.Unlock()
}

// LoginWithAccessToken logs in with an access token (a JWT the customer's
// backend signed, or one a Gatehouse login issued), as the social.plus
// loginWithAccessToken: it validates the token (GET /api/v3/sessions) and
// fetches the user (GET /api/v3/users/{userId}). An access-token handler
// must be set first; without one it fails before any network call.
func (c *Client) LoginWithAccessToken(ctx context.Context, token string) error {
	c.mu.Lock()
	h := c.tokenH
	c.mu.Unlock()
	if h == nil {
		return ErrNoAccessTokenHandler
	}
	claims, err := decodeAccessToken(token, c.now())
	if err != nil {
		return err
	}
	if err := c.beginLogin(claims.userID); err != nil {
		return err
	}
	u, ut, err := c.validateAccessToken(ctx, token, claims.userID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && (u.IsDeleted || u.IsGlobalBan || u.IsGlobalBanned) {
		// The social.plus SDK refuses these logins without terminating.
		err = ErrUserBanned
		if u.IsDeleted {
			err = ErrUserDeleted
		}
	}
	if err != nil {
		c.setStateLocked(gatehouse.NotLoggedIn, "")
		return err
	}
	s := &session{userID: u.UserID, internalID: u.InternalID, path: u.Path, loginType: loginAccessToken, userType: ut,
		accessToken: token, issuedAt: claims.issuedAt, expiresAt: claims.expiresAt}
	return c.establishLocked(ctx, s, u)
}

// validateAccessToken checks a token with the server and fetches its user;
// the user type comes from the validation answer (signed-in when a server
// does not say).
func (c *Client) validateAccessToken(ctx context.Context, token, userID string) (*wire.User, gatehouse.UserType, error) {
	var info wire.TokenInfo
	if err := c.send(ctx, http.MethodGet, "/api/v3/sessions", bearer(token), nil, &info); err != nil {
		return nil, "", err
	}
	var us wire.Users
	if err := c.send(ctx, http.MethodGet, "/api/v3/users/"+url.PathEscape(userID), bearer(token), nil, &us); err != nil {
		return nil, "", err
	}
	u := findUser(us.Users, userID)
	if u == nil {
		return nil, "", ErrUserNotFound
	}
	ut := gatehouse.UserType(info.UserType)
	if ut == "" {
		ut = gatehouse.SignedIn
	}
	return u, ut, nil
}

type tokenClaims struct {
	userID              string
	issuedAt, expiresAt time.Time
}

// decodeAccessToken reads (without verifying: the server does) what the
// social.plus SDKs read from an access token: user.publicUserId (or
// user.userId), exp, and iat (now when absent).
func decodeAccessToken(tok string, now time.Time) (tokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tokenClaims{}, ErrMalformedAccessToken
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}, ErrMalformedAccessToken
	}
	var p struct {
		User struct {
			UserID       string `json:"userId"`
			PublicUserID string `json:"publicUserId"`
		} `json:"user"`
		Iat *float64 `json:"iat"`
		Exp *float64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Exp == nil {
		return tokenClaims{}, ErrMalformedAccessToken
	}
	c := tokenClaims{userID: p.User.PublicUserID, expiresAt: time.Unix(int64(*p.Exp), 0)}
	if c.userID == "" {
		c.userID = p.User.UserID
	}
	if c.userID == "" {
		return tokenClaims{}, ErrMalformedAccessToken
	}
	c.issuedAt = now
	if p.Iat != nil {
		c.issuedAt = time.Unix(int64(*p.Iat), 0)
	}
	return c, nil
}
