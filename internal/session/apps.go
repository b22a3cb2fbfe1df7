package session

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// CreateApp creates an app with default settings and its first API key.
func (s *Service) CreateApp(ctx context.Context, name string) (gatehouse.App, gatehouse.Secret, error) {
	now := s.now().UTC()
	a := gatehouse.App{
		ID:           randomHex(12),
		Name:         strings.TrimSpace(name),
		AccessTTL:    gatehouse.DefaultAccessTTL,
		AuthTokenTTL: gatehouse.DefaultAuthTokenTTL,
		Visitors:     gatehouse.VisitorsOff,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if err := a.Validate(); err != nil {
		return a, "", err
	}
	if err := s.store.CreateApp(ctx, a); err != nil {
		return a, "", storeErr(err, "app")
	}
	s.putApp(a)
	s.log.Info("app created", "app_id", a.ID)
	_, key, err := s.CreateKey(ctx, a.ID, gatehouse.APIKey, "default")
	return a, key, err
}

// App returns an app.
func (s *Service) App(ctx context.Context, id string) (gatehouse.App, error) {
	a, err := s.store.GetApp(ctx, id)
	return a, storeErr(err, "app")
}

// Apps lists the apps.
func (s *Service) Apps(ctx context.Context) ([]gatehouse.App, error) {
	a, err := s.store.ListApps(ctx)
	return a, storeErr(err, "app")
}

// AppUpdate holds the settings to change; nil fields stay as they are.
type AppUpdate struct {
	Name          *string
	SecureMode    *bool
	AccessTTL     *time.Duration
	AuthTokenTTL  *time.Duration
	TokenIssuer   *string
	TokenAudience *string
	TokenMaxTTL   *time.Duration
	Visitors      *gatehouse.VisitorMode
	Bots          *bool
	Origins       *gatehouse.Origins
}

// String describes the change for the audit log (app settings hold no
// secret), e.g. "secureMode=true accessTokenTTL=720h0m0s".
func (u AppUpdate) String() string {
	var parts []string
	str := func(k string, p *string) {
		if p != nil {
			parts = append(parts, fmt.Sprintf("%s=%q", k, *p))
		}
	}
	dur := func(k string, p *time.Duration) {
		if p != nil {
			parts = append(parts, k+"="+p.String())
		}
	}
	str("name", u.Name)
	if u.SecureMode != nil {
		parts = append(parts, fmt.Sprintf("secureMode=%t", *u.SecureMode))
	}
	dur("accessTokenTTL", u.AccessTTL)
	dur("authTokenTTL", u.AuthTokenTTL)
	str("customerTokenIssuer", u.TokenIssuer)
	str("customerTokenAudience", u.TokenAudience)
	dur("customerTokenMaxTTL", u.TokenMaxTTL)
	if u.Visitors != nil {
		parts = append(parts, "visitors="+string(*u.Visitors))
	}
	if u.Bots != nil {
		parts = append(parts, fmt.Sprintf("bots=%t", *u.Bots))
	}
	if u.Origins != nil {
		parts = append(parts, fmt.Sprintf("allowedOrigins=%q", string(*u.Origins)))
	}
	return strings.Join(parts, " ")
}

func (u *AppUpdate) apply(a *gatehouse.App) {
	if u.Name != nil {
		a.Name = strings.TrimSpace(*u.Name)
	}
	if u.SecureMode != nil {
		a.SecureMode = *u.SecureMode
	}
	if u.AccessTTL != nil {
		a.AccessTTL = *u.AccessTTL
	}
	if u.AuthTokenTTL != nil {
		a.AuthTokenTTL = *u.AuthTokenTTL
	}
	if u.TokenIssuer != nil {
		a.TokenIssuer = *u.TokenIssuer
	}
	if u.TokenAudience != nil {
		a.TokenAudience = *u.TokenAudience
	}
	if u.TokenMaxTTL != nil {
		a.TokenMaxTTL = *u.TokenMaxTTL
	}
	if u.Visitors != nil {
		a.Visitors = *u.Visitors
	}
	if u.Origins != nil {
		a.Origins = *u.Origins
	}
	if u.Bots != nil {
		a.Bots = *u.Bots
	}
}

// UpdateApp changes an app's settings. They take effect at once for new
// logins; tokens already issued keep their lifetime.
func (s *Service) UpdateApp(ctx context.Context, id string, u AppUpdate) (gatehouse.App, error) {
	if u.Visitors != nil && !u.Visitors.Valid() {
		return gatehouse.App{}, gatehouse.Errorf(gatehouse.Invalid, "visitors must be off, on or secure")
	}
	now := s.now().UTC()
	// Read, change and write in one store transaction, so that two admins
	// editing different settings at once both keep their change. The
	// callback may run more than once; it only reads u and now.
	a, err := s.store.UpdateApp(ctx, id, func(a *gatehouse.App) error {
		u.apply(a)
		if err := a.Validate(); err != nil {
			return err
		}
		a.UpdatedAt = now
		return nil
	})
	if err != nil {
		return a, storeErr(err, "app")
	}
	s.putApp(a)
	s.settle(ctx)
	s.log.Info("app updated", "app_id", a.ID, "secure_mode", a.SecureMode, "access_ttl_ms", a.AccessTTL.Milliseconds(), "auth_token_ttl_ms", a.AuthTokenTTL.Milliseconds(),
		"visitors", string(a.Visitors), "bots", a.Bots)
	return a, nil
}

// Key strings are 64 lowercase hex digits: a 16-digit public id, then 48
// digits (192 bits) of secret. Only the SHA-256 of the whole string is kept.
const (
	keyIDLen  = 16
	keyLen    = 64
	maxKeyLen = 150
)

// CreateKey creates an API key or server key for an app and returns the key
// string, which is shown only this once.
func (s *Service) CreateKey(ctx context.Context, appID string, kind gatehouse.KeyKind, name string) (gatehouse.Key, gatehouse.Secret, error) {
	if kind != gatehouse.APIKey && kind != gatehouse.ServerKey {
		return gatehouse.Key{}, "", gatehouse.Errorf(gatehouse.Invalid, "unknown key kind %q", kind)
	}
	if err := gatehouse.ValidateKeyName(name); err != nil {
		return gatehouse.Key{}, "", err
	}
	raw := randomHex(keyLen / 2)
	k := gatehouse.Key{ID: raw[:keyIDLen], AppID: appID, Kind: kind, Name: name, Hash: digest(raw), CreatedAt: s.now().UTC()}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return k, "", storeErr(err, "app")
	}
	s.mu.Lock()
	s.keys[k.ID] = &k
	s.mu.Unlock()
	s.settle(ctx)
	s.log.Info("key created", "app_id", appID, "key_id", k.ID, "kind", string(kind))
	return k, gatehouse.Secret(raw), nil
}

// Keys lists an app's keys of one kind (hashes only).
func (s *Service) Keys(ctx context.Context, appID string, kind gatehouse.KeyKind) ([]gatehouse.Key, error) {
	if _, err := s.App(ctx, appID); err != nil {
		return nil, err
	}
	k, err := s.store.ListKeys(ctx, appID, kind)
	return k, storeErr(err, "key")
}

// RevokeKey revokes a key; it stops working at once.
func (s *Service) RevokeKey(ctx context.Context, appID string, kind gatehouse.KeyKind, keyID string) (gatehouse.Key, error) {
	k, err := s.store.RevokeKey(ctx, appID, kind, keyID, s.now().UTC())
	if err != nil {
		return k, storeErr(err, "key")
	}
	s.mu.Lock()
	delete(s.keys, keyID)
	s.mu.Unlock()
	s.settle(ctx)
	s.log.Info("key revoked", "app_id", appID, "key_id", keyID, "kind", string(kind))
	return k, nil
}

// appForKey returns the app a key string belongs to, if the key is active
// and of the given kind. The digest comparison is constant-time; the id
// lookup uses only the public part of the key.
func (s *Service) appForKey(raw string, kind gatehouse.KeyKind) (*gatehouse.App, bool) {
	if len(raw) != keyLen {
		return nil, false
	}
	s.mu.RLock()
	k, ok := s.keys[raw[:keyIDLen]]
	var a *gatehouse.App
	if ok {
		a = s.apps[k.AppID]
	}
	s.mu.RUnlock()
	if !ok || a == nil || k.Kind != kind {
		return nil, false
	}
	if subtle.ConstantTimeCompare(digest(raw), k.Hash) != 1 {
		return nil, false
	}
	return a, true
}

var (
	errBadAPIKey    = gatehouse.Errorf(gatehouse.Unauthenticated, "Invalid API key")
	errBadServerKey = gatehouse.Errorf(gatehouse.Unauthenticated, "Invalid server key")
)

// MintAuthToken returns a secure-mode auth token for userID, authorized by
// a server key.
func (s *Service) MintAuthToken(ctx context.Context, serverKey gatehouse.Secret, userID string) (gatehouse.Secret, time.Time, error) {
	if len(serverKey.Reveal()) > maxKeyLen {
		return "", time.Time{}, errBadServerKey
	}
	if err := s.Current(); err != nil {
		return "", time.Time{}, err
	}
	a, ok := s.appForKey(serverKey.Reveal(), gatehouse.ServerKey)
	if !ok {
		return "", time.Time{}, errBadServerKey
	}
	if err := gatehouse.ValidateUserID(userID); err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(a.AuthTokenTTL)
	tok, err := s.authKey.Mint(a.ID, userID, exp)
	if err != nil {
		return "", time.Time{}, gatehouse.Wrap(gatehouse.Internal, err, "could not mint auth token")
	}
	return gatehouse.Secret(tok), exp, nil
}

// AppForAPIKey returns the app an API key belongs to.
func (s *Service) AppForAPIKey(key gatehouse.Secret) (gatehouse.App, bool) {
	a, ok := s.appForKey(key.Reveal(), gatehouse.APIKey)
	if !ok {
		return gatehouse.App{}, false
	}
	return *a, true
}

// putApp puts an app's settings in service.
func (s *Service) putApp(a gatehouse.App) {
	s.mu.Lock()
	s.apps[a.ID] = &a
	// Verified customer tokens were checked against the old settings.
	s.mu.Unlock()
	s.cverify.forgetVerified()
}
