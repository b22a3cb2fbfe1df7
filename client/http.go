package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// maxResponse bounds what the client reads from a response.
const maxResponse = 4 << 20

// send makes one request and decodes a 2xx JSON body into out. Error
// responses become *gatehouse.Error with the server's code and message;
// transport failures become gatehouse.Unavailable errors wrapping the cause.
func (c *Client) send(ctx context.Context, method, path string, hdr http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	// path is already escaped by the caller.
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &gatehouse.Error{Code: gatehouse.Unavailable, Message: "cannot reach the server", Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &gatehouse.Error{Code: gatehouse.Unavailable, Message: "reading the response failed", Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e wire.Error
		if json.Unmarshal(raw, &e) == nil && e.Status != "" {
			ge := e.AsError()
			return ge
		}
		return &gatehouse.Error{Code: codeForStatus(resp.StatusCode), Message: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &gatehouse.Error{Code: gatehouse.Internal, Message: "the server's answer is not valid JSON", Err: err}
	}
	return nil
}

func codeForStatus(st int) gatehouse.Code {
	switch {
	case st == 401:
		return gatehouse.Unauthenticated
	case st == 403:
		return gatehouse.Forbidden
	case st == 404:
		return gatehouse.NotFound
	case st == 409:
		return gatehouse.Conflict
	case st == 429:
		return gatehouse.RateLimited
	case st >= 500:
		return gatehouse.Unavailable
	}
	return gatehouse.Invalid
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// Client-side errors, returned before or instead of a request.
var (
	ErrNotLoggedIn          = errors.New("client: not logged in")
	ErrLoginInProgress      = errors.New("client: a login is already in progress")
	ErrNoAccessTokenHandler = errors.New("client: set an access-token handler before logging in with an access token")
	ErrRenewalUsed          = errors.New("client: this renewal was already used or has been replaced")
	ErrClosed               = errors.New("client: closed")
	ErrUserNotFound         = errors.New("client: the server's answer does not contain the user")
	ErrUserBanned           = errors.New("client: the user is globally banned")
	ErrUserDeleted          = errors.New("client: the user has been deleted")
	ErrMalformedAccessToken = errors.New("client: the access token is not a JWT with user.publicUserId (or user.userId) and exp")
)

// Do makes an authenticated call to the social.plus-compatible API with the
// session's access token and decodes a JSON answer into out (when not nil).
// A token past its expiry is renewed first through the handler, if it can
// be; an answer with code 400100 ends the session (terminated,
// unauthorized), as in the social.plus SDKs.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	tok, err := c.usableToken(ctx)
	if err != nil {
		return err
	}
	err = c.send(ctx, method, path, bearer(tok), in, out)
	c.checkTerminated(tok, err)
	return err
}

// usableToken returns the access token, renewing it first when it is past
// its expiry.
func (c *Client) usableToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.sess == nil {
		c.mu.Unlock()
		return "", ErrNotLoggedIn
	}
	expired := !c.now().Before(c.sess.expiresAt)
	tok := c.sess.accessToken
	c.mu.Unlock()
	if !expired {
		return tok, nil
	}
	c.CheckExpiry(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return "", ErrNotLoggedIn
	}
	if !c.now().Before(c.sess.expiresAt) {
		return "", &gatehouse.Error{Code: gatehouse.Unauthenticated, Message: "the access token has expired and was not renewed"}
	}
	return c.sess.accessToken, nil
}

// checkTerminated ends the session when the server refused its token with
// 400100 (reason unauthorized) or reported the user globally banned with
// 400312 (reason globalBan), unless the token has been replaced meanwhile.
// The social.plus SDKs learn of bans only from the realtime event; a ban
// answer to a call is just as certain, so this SDK acts on it too.
func (c *Client) checkTerminated(tok string, err error) {
	var reason gatehouse.TerminationReason
	switch gatehouse.ErrorCode(err) {
	case gatehouse.Unauthenticated:
		reason = gatehouse.ReasonUnauthorized
	case gatehouse.Banned:
		reason = gatehouse.ReasonGlobalBan
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil || c.sess.accessToken != tok || c.state != gatehouse.Established {
		return
	}
	c.terminateLocked(reason)
}

func (c *Client) terminateLocked(reason gatehouse.TerminationReason) {
	if c.setStateLocked(gatehouse.Terminated, reason) != nil {
		return
	}
	c.clearLocked()
}

// Validate asks the server whether the session's token is valid
// (GET /api/v3/sessions).
func (c *Client) Validate(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/api/v3/sessions", nil, nil)
}

// User fetches a user by public id (GET /api/v3/users/{userId}).
func (c *Client) User(ctx context.Context, userID string) (wire.User, error) {
	var us wire.Users
	if err := c.Do(ctx, http.MethodGet, "/api/v3/users/"+url.PathEscape(userID), nil, &us); err != nil {
		return wire.User{}, err
	}
	for _, u := range us.Users {
		if u.UserID == userID {
			return u, nil
		}
	}
	return wire.User{}, ErrUserNotFound
}
