package session

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// LoginResult is what a successful login returns.
type LoginResult struct {
	AccessToken gatehouse.Secret
	IssuedAt    time.Time
	ExpiresAt   time.Time
	User        gatehouse.User
	Session     gatehouse.Session
}

var (
	errAuthTokenRequired = gatehouse.Errorf(gatehouse.Unauthenticated, "Secure mode is on: authToken is required")
	errAuthTokenInvalid  = gatehouse.Errorf(gatehouse.Unauthenticated, "Invalid authToken")
	errAuthTokenExpired  = gatehouse.Errorf(gatehouse.Unauthenticated, "authToken has expired")
	errUserBanned        = gatehouse.Errorf(gatehouse.Banned, "User is globally banned")
	errUserDeleted       = gatehouse.Errorf(gatehouse.Forbidden, "User has been deleted")
)

// Login creates or extends the session of a user on a device (the
// social.plus "register a session" call) and issues an access token.
//
// In secure mode a valid auth token for this app and user is required and a
// displayName in the request is ignored, as on social.plus; with secure mode
// off the auth token is not checked. Banned users get a Banned error,
// deleted users a Forbidden one; both checks run inside the store
// transaction, so a ban committed before the login is always seen.
func (s *Service) Login(ctx context.Context, apiKey gatehouse.Secret, req *wire.LoginRequest) (LoginResult, error) {
	a, ok := s.appForKey(apiKey.Reveal(), gatehouse.APIKey)
	if !ok {
		return LoginResult{}, errBadAPIKey
	}
	if err := gatehouse.ValidateUserID(req.UserID); err != nil {
		return LoginResult{}, err
	}
	if err := gatehouse.ValidateDeviceID(req.DeviceID); err != nil {
		return LoginResult{}, err
	}
	name := req.DisplayName
	if name != nil {
		if err := gatehouse.ValidateDisplayName(*name); err != nil {
			return LoginResult{}, err
		}
	}
	if len(req.AuthToken) > gatehouse.MaxAuthTokenLen {
		return LoginResult{}, gatehouse.Errorf(gatehouse.Invalid, "authToken must be at most %d characters", gatehouse.MaxAuthTokenLen)
	}
	now := s.now().UTC()
	if a.SecureMode {
		if req.AuthToken == "" {
			return LoginResult{}, errAuthTokenRequired
		}
		switch err := s.authKey.Check(a.ID, req.UserID, req.AuthToken, now); {
		case errors.Is(err, token.ErrExpired):
			return LoginResult{}, errAuthTokenExpired
		case err != nil:
			return LoginResult{}, errAuthTokenInvalid
		}
		name = nil
	}

	// Token times are whole seconds so that issuedAt/expiresAt in the body
	// equal the JWT's iat/exp exactly.
	iat := now.Truncate(time.Second)
	exp := iat.Add(a.AccessTTL)
	display := req.UserID
	if name != nil && *name != "" {
		display = *name
	}
	rec := store.LoginRecord{
		AppID:       a.ID,
		UserID:      req.UserID,
		DisplayName: name,
		DeviceID:    req.DeviceID,
		Now:         now,
		NewUser:     gatehouse.User{ID: randomHex(12), AppID: a.ID, UserID: req.UserID, DisplayName: display, CreatedAt: now, UpdatedAt: now},
		Session:     gatehouse.Session{ID: randomHex(16), DeviceInfo: req.DeviceInfo, CreatedAt: now, LastLoginAt: now, ExpiresAt: exp},
	}
	res, err := s.store.Login(ctx, rec, func(u *gatehouse.User, existed bool) error {
		switch {
		case u.Deleted:
			return errUserDeleted
		case u.Banned:
			return errUserBanned
		}
		return nil
	})
	if err != nil {
		return LoginResult{}, storeErr(err, "app")
	}
	if res.Replaced != nil {
		s.markRevoked(*res.Replaced)
		s.log.Info("session replaced by another user's login on the device", "app_id", a.ID, "session_id", res.Replaced.ID)
	}
	claims := &token.AccessClaims{
		User: token.UserClaim{
			UserID:       res.User.ID,
			PublicUserID: res.User.UserID,
			NetworkID:    a.ID,
			DeviceInfo:   &token.DeviceInfo{Kind: req.DeviceInfo.Kind, SDKVersion: req.DeviceInfo.SDKVersion},
		},
		Issuer:    s.issuer,
		Subject:   res.User.ID,
		Audience:  a.ID,
		SessionID: res.Session.ID,
		ID:        randomHex(8),
		IssuedAt:  iat.Unix(),
		ExpiresAt: exp.Unix(),
	}
	if claims.User.DeviceInfo.Kind == "" && claims.User.DeviceInfo.SDKVersion == "" {
		claims.User.DeviceInfo = nil
	}
	raw, err := s.ring.Load().Sign(claims)
	if err != nil {
		return LoginResult{}, gatehouse.Wrap(gatehouse.Internal, err, "could not sign access token")
	}
	return LoginResult{AccessToken: gatehouse.Secret(raw), IssuedAt: iat, ExpiresAt: exp, User: res.User, Session: res.Session}, nil
}

func (s *Service) markRevoked(sessions ...gatehouse.Session) {
	s.mu.Lock()
	for _, x := range sessions {
		s.revoked[x.ID] = x.ExpiresAt
	}
	s.mu.Unlock()
}
