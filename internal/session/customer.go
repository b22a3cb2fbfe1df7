package session

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// KeyFetcher fetches the keys of registered JWKS URLs (internal/jwks).
type KeyFetcher interface {
	// CheckURL refuses URLs that must not be fetched.
	CheckURL(ctx context.Context, url string) error
	// Keys returns the URL's keys, refetching (rate-limited) when refresh.
	Keys(ctx context.Context, keyID, url string, refresh bool) ([]token.CustomerKey, error)
}

// customerToken is a verified customer token, cached by its text.
type customerToken struct {
	appID, userInternalID, publicID string
	// hash keys revocation: the digest of the signed content, which no
	// re-encoding or second signature changes. legacy is the digest of the
	// raw text that revocations stored before used; set only while such
	// rows may still be live.
	hash, legacy        string
	issuedAt, expiresAt time.Time
	acceptedAt          time.Time // first verified: issuedAt for tokens without iat
}

// revocationKey is what a customer token's revocation is stored under: the
// SHA-256 of its signing input (64 hex digits). Canonical base64url is
// enforced before, so the text of header and payload is a function of
// their bytes; the signature is left out because it can vary for the same
// content (ECDSA's (r, n−s) verifies too).
func revocationKey(raw string) string {
	d := token.SignedContentDigest(raw)
	return hex.EncodeToString(d[:])
}

// legacyRevocationKey is the key revocations were stored under before
// revocationKey (16 bytes of the SHA-256 of the raw text, 32 hex digits).
// Stores may hold such rows until the tokens expire (at most the app's
// maximum customer-token lifetime): they are still matched, and the
// canonical-encoding check keeps a re-encoded text from slipping past them.
func legacyRevocationKey(raw string) string { return hex.EncodeToString(digest(raw)[:16]) }

func isLegacyRevocationKey(k string) bool { return len(k) == 32 }

// customerSessionID is the session id of a customer token, for revocation
// and realtime: customer tokens have no session record.
func customerSessionID(hash string) string { return "ct:" + hash }

func newSealer(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if len(key) != 32 {
		return nil, errors.New("seal key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

var sealAD = []byte("gatehouse verification key v1")

func (s *Service) seal(secret []byte) ([]byte, error) {
	if s.sealer == nil {
		return nil, gatehouse.Errorf(gatehouse.Internal, "no seal key is configured: HMAC secrets cannot be stored")
	}
	nonce := make([]byte, s.sealer.NonceSize())
	rand.Read(nonce)
	return s.sealer.Seal(nonce, nonce, secret, sealAD), nil
}

func (s *Service) unseal(b []byte) ([]byte, error) {
	if s.sealer == nil || len(b) < s.sealer.NonceSize() {
		return nil, fmt.Errorf("HMAC secret: %w", ErrSealKey)
	}
	n := s.sealer.NonceSize()
	p, err := s.sealer.Open(nil, b[:n], b[n:], sealAD)
	if err != nil {
		return nil, fmt.Errorf("HMAC secret: %w", ErrSealKey)
	}
	return p, nil
}

// loadVerificationKey turns a stored key into what verification needs.
func (s *Service) loadVerificationKey(k gatehouse.VerificationKey) (*token.CustomerKey, error) {
	switch k.Kind {
	case gatehouse.KeyHMAC:
		secret, err := s.unseal(k.Material)
		if err != nil {
			return nil, fmt.Errorf("verification key %s: %w", k.ID, err)
		}
		ck, err := token.HMACKey(k.ID, k.Alg, secret)
		return &ck, err
	case gatehouse.KeyPublic:
		ck, err := token.PublicKey(k.ID, k.Alg, k.Material)
		return &ck, err
	}
	return nil, nil // JWKS: fetched on use
}

// VerificationKeyInput is what an operator registers: exactly one of
// Secret, PublicKey and JWKSURL.
type VerificationKeyInput struct {
	Alg       string
	Secret    []byte
	PublicKey []byte // PEM or JWK
	JWKSURL   string
}

// AddVerificationKey registers a key that verifies an app's customer
// tokens. HMAC secrets are checked for length and entropy and stored
// sealed; public keys must fit the algorithm; JWKS URLs must be https and
// public.
func (s *Service) AddVerificationKey(ctx context.Context, appID string, in VerificationKeyInput) (gatehouse.VerificationKey, error) {
	if _, err := s.App(ctx, appID); err != nil {
		return gatehouse.VerificationKey{}, err
	}
	n := 0
	for _, set := range []bool{len(in.Secret) > 0, len(in.PublicKey) > 0, in.JWKSURL != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return gatehouse.VerificationKey{}, gatehouse.Errorf(gatehouse.Invalid, "give exactly one of secret, publicKey and jwksUrl")
	}
	k := gatehouse.VerificationKey{ID: "vk_" + randomHex(8), AppID: appID, Alg: in.Alg, CreatedAt: s.now().UTC(), Material: []byte{}}
	var ck *token.CustomerKey
	switch {
	case len(in.Secret) > 0:
		c, err := token.HMACKey(k.ID, in.Alg, in.Secret)
		if err != nil {
			return k, gatehouse.Wrap(gatehouse.Invalid, err, err.Error())
		}
		if k.Material, err = s.seal(in.Secret); err != nil {
			return k, err
		}
		k.Kind, ck = gatehouse.KeyHMAC, &c
	case len(in.PublicKey) > 0:
		c, err := token.PublicKey(k.ID, in.Alg, in.PublicKey)
		if err != nil {
			return k, gatehouse.Wrap(gatehouse.Invalid, err, err.Error())
		}
		k.Kind, k.Material, ck = gatehouse.KeyPublic, in.PublicKey, &c
	default:
		if _, ok := token.AllowedAlg(in.Alg); !ok || strings.HasPrefix(in.Alg, "HS") {
			return k, gatehouse.Errorf(gatehouse.Invalid, "a JWKS key needs a public-key algorithm (RS256, PS256, ES256, EdDSA)")
		}
		if s.fetcher == nil {
			return k, gatehouse.Errorf(gatehouse.Invalid, "JWKS URLs are not enabled on this server")
		}
		if err := s.fetcher.CheckURL(ctx, in.JWKSURL); err != nil {
			return k, gatehouse.Wrap(gatehouse.Invalid, err, err.Error())
		}
		k.Kind, k.JWKSURL = gatehouse.KeyJWKS, in.JWKSURL
	}
	if err := s.store.CreateVerificationKey(ctx, k); err != nil {
		return k, storeErr(err, "app")
	}
	s.cverify.addKey(k, ck)
	s.settle(ctx)
	s.log.Info("verification key added", "app_id", appID, "key_id", k.ID, "alg", k.Alg, "kind", string(k.Kind))
	k.Material = nil
	return k, nil
}

// VerificationKeys lists an app's keys, without their material.
func (s *Service) VerificationKeys(ctx context.Context, appID string) ([]gatehouse.VerificationKey, error) {
	if _, err := s.App(ctx, appID); err != nil {
		return nil, err
	}
	list, err := s.store.ListVerificationKeys(ctx, appID)
	for i := range list {
		list[i].Material = nil
	}
	return list, storeErr(err, "verification key")
}

// RemoveVerificationKey removes a key; tokens it verified stop working,
// except those already verified and cached, which are dropped too.
func (s *Service) RemoveVerificationKey(ctx context.Context, appID, keyID string) error {
	if err := s.store.DeleteVerificationKey(ctx, appID, keyID); err != nil {
		return storeErr(err, "Verification key")
	}
	s.forgetVerificationKey(appID, keyID)
	s.settle(ctx)
	s.log.Info("verification key removed", "app_id", appID, "key_id", keyID)
	return nil
}

func (s *Service) forgetVerificationKey(appID, keyID string) { s.cverify.removeKey(appID, keyID) }

// addVerificationKey puts a stored key in service (from the event log).
func (s *Service) addVerificationKey(k gatehouse.VerificationKey) error {
	ck, err := s.loadVerificationKey(k)
	if err != nil {
		return err
	}
	s.cverify.addKey(k, ck)
	return nil
}

// verifyCustomer checks a customer token's signature and claims against
// its app's keys, maps it to a user (created on first use), and returns
// it. Revocation state is not consulted here.
func (s *Service) verifyCustomer(ctx context.Context, raw string) (*customerToken, error) {
	if ct, err := s.cverify.cached(raw); ct != nil || err != nil {
		return ct, err
	}
	appID, err := token.PeekNetwork(raw)
	if err != nil {
		return nil, errTokenInvalid
	}
	s.mu.RLock()
	a := s.apps[appID]
	legacy := s.rev.legacyKeys()
	s.mu.RUnlock()
	if a == nil {
		return nil, errTokenInvalid
	}
	claims, now, err := s.cverify.verify(ctx, raw, a)
	if err != nil {
		return nil, err
	}
	u, err := s.customerUser(ctx, appID, claims.PublicUserID)
	if err != nil {
		return nil, err
	}
	ct := &customerToken{appID: appID, userInternalID: u.ID, publicID: u.UserID, hash: revocationKey(raw),
		issuedAt: claims.IssuedAt, expiresAt: claims.ExpiresAt, acceptedAt: now.UTC().Truncate(time.Millisecond)}
	if legacy {
		ct.legacy = legacyRevocationKey(raw)
	}
	s.cverify.remember(raw, ct)
	return ct, nil
}

// appScopedKey names an id within an app in a cache: the app id, a NUL
// byte, the id. App ids never hold a NUL byte, so two (app, id) pairs never
// share a key.
func appScopedKey(appID, id string) string { return appID + "\x00" + id }

// customerUser returns the user a customer token names, creating it on
// first use (display name = user id).
func (s *Service) customerUser(ctx context.Context, appID, publicID string) (*gatehouse.User, error) {
	key := appScopedKey(appID, publicID)
	s.mu.RLock()
	u := s.custUsers.Get(key)
	s.mu.RUnlock()
	if u != nil {
		return u, nil
	}
	now := s.now().UTC()
	got, err := s.store.GetOrCreateUser(ctx, gatehouse.User{ID: randomHex(12), AppID: appID, UserID: publicID, Type: gatehouse.SignedIn, DisplayName: publicID, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return nil, storeErr(err, "app")
	}
	if got.Type.OrSignedIn() != gatehouse.SignedIn {
		// A customer token names a signed-in user; it cannot take over a
		// visitor's or bot's id.
		return nil, gatehouse.Wrap(gatehouse.Unauthenticated, errOtherUserType, errTokenInvalid.Message)
	}
	s.mu.Lock()
	s.custUsers.Put(key, &got)
	s.mu.Unlock()
	return &got, nil
}

// checkCustomer applies revocation state to a verified customer token.
func (s *Service) checkCustomer(ct *customerToken) (Principal, error) {
	s.mu.RLock()
	flags := s.rev.user(ct.userInternalID)
	revoked := s.rev.tokenRevoked(ct.hash, ct.legacy)
	s.mu.RUnlock()
	switch {
	case flags.deleted:
		return Principal{}, errUserGone
	case flags.banned:
		return Principal{}, errUserBanned
	case revoked:
		return Principal{}, errTokenRevoked
	case !flags.validAfter.IsZero() && (ct.issuedAt.IsZero() || !ct.issuedAt.After(flags.validAfter)):
		// Issued at or before a revoke-all, ban or deletion (iat has
		// second precision, so a token signed in that same second is
		// refused too: sign a new one). No iat: treated as revoked.
		return Principal{}, errTokenRevoked
	}
	// A token without iat reports when Gatehouse first accepted it, never
	// the zero time (the SDKs parse issuedAt as a date).
	issued := ct.issuedAt
	if issued.IsZero() {
		issued = ct.acceptedAt
	}
	return Principal{AppID: ct.appID, UserInternalID: ct.userInternalID, PublicUserID: ct.publicID, SessionID: customerSessionID(ct.hash),
		IssuedAt: issued, ExpiresAt: ct.expiresAt, UserType: gatehouse.SignedIn}, nil
}

// logoutCustomer revokes a customer token until its expiry.
func (s *Service) logoutCustomer(ctx context.Context, ct *customerToken) error {
	if err := s.store.RevokeToken(ctx, store.RevokedToken{AppID: ct.appID, Hash: ct.hash, ExpiresAt: ct.expiresAt}); err != nil {
		return storeErr(err, "token")
	}
	s.mu.Lock()
	s.rev.revokeToken(ct.hash, ct.expiresAt)
	s.mu.Unlock()
	revokedLogout.Inc()
	s.settle(ctx) // closes the token's connections
	s.log.Info("customer token revoked by secure logout", "app_id", ct.appID, "user_internal_id", ct.userInternalID)
	return nil
}
