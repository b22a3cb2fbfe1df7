// Package mint is Gatehouse's helper for customers' backends: it fetches
// secure-mode auth tokens with the server key, signs access tokens for
// login with an access token, and serves a ready "give my signed-in user a
// token" endpoint.
//
// A backend uses one of the two login flows of social.plus:
//
//   - Secure mode: the app logs in with an auth token. AuthTokenClient gets
//     one from Gatehouse (POST /api/v4/authentication/token with the server
//     key) for a user the backend has verified.
//   - Access-token login: the backend signs a JWT for its user with a key
//     registered for the app (gatehouse app access-token-key add), and the
//     app logs in with it. Signer makes such tokens.
//
// Handler wraps either behind the backend's own "who is this user" check.
//
// For apps in secure visitor mode, VisitorSigner (and VisitorSignature)
// signs the device ids the backend lets in as visitors, and
// VisitorSignatureHandler serves the signatures to the app.
package mint

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// AuthTokenClient fetches secure-mode auth tokens from Gatehouse (or any
// social.plus-compatible endpoint) with a server key.
type AuthTokenClient struct {
	// Endpoint is the server's base URL, e.g. "https://gatehouse.example.com".
	Endpoint string
	// ServerKey authorizes the call. Keep it on the backend only.
	ServerKey string
	// HTTPClient makes the requests; a client with a 10 s timeout when nil.
	HTTPClient *http.Client
	// Retries is how many times a transient failure (network error, 5xx,
	// 429) is retried; 3 when zero, none when negative.
	Retries int
	// Backoff is the first retry delay, doubled each time; 200 ms when zero.
	Backoff time.Duration
}

// AuthToken returns an auth token for userID. Errors from the server are
// *gatehouse.Error with its code (a bad server key is Unauthenticated and
// is not retried).
func (c *AuthTokenClient) AuthToken(ctx context.Context, userID string) (string, error) {
	if err := gatehouse.ValidateUserID(userID); err != nil {
		return "", err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	retries, backoff := c.Retries, c.Backoff
	if retries == 0 {
		retries = 3
	}
	if retries < 0 {
		retries = 0
	}
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	body, _ := json.Marshal(wire.AuthTokenRequest{UserID: userID})
	var last error
	for attempt := 0; ; attempt++ {
		tok, wait, err := c.try(ctx, hc, body)
		if err == nil {
			return tok, nil
		}
		last = err
		if wait < 0 || attempt >= retries {
			return "", last
		}
		if wait == 0 {
			wait = backoff << attempt
		}
		select {
		case <-ctx.Done():
			return "", errors.Join(last, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// try makes one call. wait < 0: do not retry; 0: use the back-off; > 0:
// the server's Retry-After.
func (c *AuthTokenClient) try(ctx context.Context, hc *http.Client, body []byte) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.Endpoint, "/")+"/api/v4/authentication/token", bytes.NewReader(body))
	if err != nil {
		return "", -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Server-Key", c.ServerKey)
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", -1, err
		}
		return "", 0, &gatehouse.Error{Code: gatehouse.Unavailable, Message: "cannot reach the server", Err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		tok := strings.Trim(strings.TrimSpace(string(raw)), `"`)
		if tok == "" {
			return "", -1, &gatehouse.Error{Code: gatehouse.Internal, Message: "empty auth token in the answer"}
		}
		return tok, 0, nil
	}
	var e wire.Error
	ge := &gatehouse.Error{Code: gatehouse.Internal, Message: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	if json.Unmarshal(raw, &e) == nil && e.Status != "" {
		ge = e.AsError()
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return "", time.Duration(secs) * time.Second, ge
	case resp.StatusCode >= 500:
		if ge.Code == gatehouse.Internal {
			ge.Code = gatehouse.Unavailable
		}
		return "", 0, ge
	}
	return "", -1, ge
}

// Signer signs access tokens for login with an access token, with the
// claims Gatehouse checks: user.publicUserId, user.userId and
// user.networkId, iat, exp, and iss/aud when set.
type Signer struct {
	// NetworkID is the app's id (its networkId); required.
	NetworkID string
	// Alg is the algorithm the registered key is bound to: HS256, HS384,
	// HS512, RS256, PS256, ES256 or EdDSA.
	Alg string
	// Key is the HMAC secret ([]byte) or the private key (*rsa.PrivateKey,
	// *ecdsa.PrivateKey, ed25519.PrivateKey) matching the registered key.
	Key any
	// KeyID is sent as kid: the registered key's id (vk_…) or its JWK kid.
	// Optional when the app has one key of that algorithm.
	KeyID string
	// Issuer and Audience are set as iss and aud when not empty; set them
	// if the app requires them.
	Issuer, Audience string
	// Lifetime of the tokens; 1 hour when zero. It must not exceed the
	// app's maximum (24 hours unless the operator changed it).
	Lifetime time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Sign returns an access token for userID and its expiry.
func (s *Signer) Sign(userID string) (string, time.Time, error) {
	if s.NetworkID == "" {
		return "", time.Time{}, errors.New("mint: Signer.NetworkID is required")
	}
	if err := gatehouse.ValidateUserID(userID); err != nil {
		return "", time.Time{}, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	life := s.Lifetime
	if life <= 0 {
		life = time.Hour
	}
	iat := now().Truncate(time.Second)
	exp := iat.Add(life)
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if s.KeyID != "" {
		opts = opts.WithHeader("kid", s.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(s.Alg), Key: s.Key}, opts)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint: %w", err)
	}
	var jti [12]byte
	rand.Read(jti[:])
	claims := token.NewCustomerPayload(s.NetworkID, userID, iat, exp)
	claims.JTI = hex.EncodeToString(jti[:])
	claims.Iss = s.Issuer
	if s.Audience != "" {
		claims.Aud = jwt.Audience{s.Audience}
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint: %w", err)
	}
	tok, err := obj.CompactSerialize()
	return tok, exp, err
}

// WhoAmI is the backend's own check of who is calling: the user id of the
// signed-in user, or ok=false.
type WhoAmI func(r *http.Request) (userID string, ok bool)

// AuthTokenHandler answers the signed-in user with a fresh auth token:
// 200 {"userId","authToken"}, 401 when WhoAmI finds nobody, 502 when
// Gatehouse refuses or cannot be reached.
func AuthTokenHandler(c *AuthTokenClient, who WhoAmI) http.Handler {
	return handler(who, func(ctx context.Context, userID string) (map[string]string, error) {
		tok, err := c.AuthToken(ctx, userID)
		return map[string]string{"userId": userID, "authToken": tok}, err
	})
}

// AccessTokenHandler answers the signed-in user with a fresh access token:
// 200 {"userId","accessToken","expiresAt"}, 401 when WhoAmI finds nobody.
func AccessTokenHandler(s *Signer, who WhoAmI) http.Handler {
	return handler(who, func(_ context.Context, userID string) (map[string]string, error) {
		tok, exp, err := s.Sign(userID)
		return map[string]string{"userId": userID, "accessToken": tok, "expiresAt": wire.Time(exp)}, err
	})
}

func handler(who WhoAmI, issue func(context.Context, string) (map[string]string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			json.NewEncoder(w).Encode(map[string]string{"error": "use GET or POST"})
			return
		}
		userID, ok := who(r)
		if !ok || userID == "" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "not signed in"})
			return
		}
		out, err := issue(r.Context(), userID)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			json.NewEncoder(w).Encode(map[string]string{"error": gatehouse.ErrorMessage(err)})
			return
		}
		json.NewEncoder(w).Encode(out)
	})
}
