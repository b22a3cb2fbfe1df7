package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash/maphash"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// LoginInput is what a login asks for (the HTTP layer fills it from the
// JSON body). DisplayName and ProfileHandle are nil when not sent.
type LoginInput struct {
	UserID        string
	DeviceID      string
	DeviceInfo    gatehouse.DeviceInfo
	DisplayName   *string
	ProfileHandle *string
	AuthToken     string // secure mode: the auth token for UserID
}

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
	errOtherUserType     = gatehouse.Errorf(gatehouse.Forbidden, "This userId belongs to another kind of user (signed-in, visitor or bot)")
)

// Login creates or extends the session of a user on a device (the
// social.plus "register a session" call) and issues an access token.
//
// In secure mode a valid auth token for this app and user is required and a
// displayName in the request is ignored, as on social.plus; with secure mode
// off the auth token is not checked. Banned users get a Banned error,
// deleted users a Forbidden one; both checks run inside the store
// transaction, so a ban committed before the login is always seen.
func (s *Service) Login(ctx context.Context, apiKey gatehouse.Secret, req *LoginInput) (LoginResult, error) {
	// Keys, bans and the device cache are read from memory.
	if err := s.Current(); err != nil {
		return LoginResult{}, err
	}
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
	if err := req.DeviceInfo.Validate(); err != nil {
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
	if res, ok := s.fastLogin(a, gatehouse.SignedIn, req, name, iat, exp); ok {
		return res, nil
	}
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
		NewUser:     gatehouse.User{ID: randomHex(12), AppID: a.ID, UserID: req.UserID, Type: gatehouse.SignedIn, DisplayName: display, CreatedAt: now, UpdatedAt: now},
		Session: gatehouse.Session{ID: randomHex(16), DeviceInfo: req.DeviceInfo, CreatedAt: now, LastLoginAt: now,
			ExpiresAt: exp.Add(sessionSlack(a.AccessTTL))},
	}
	return s.commitLogin(ctx, a, rec, req, iat, exp, nil)
}

// commitLogin records a login in the store (the slow path) and issues its
// token. onCreate, when set, runs in the transaction before a new user is
// created; its error refuses the login.
func (s *Service) commitLogin(ctx context.Context, a *gatehouse.App, rec store.LoginRecord, req *LoginInput, iat, exp time.Time, onCreate func() error) (LoginResult, error) {
	want := rec.NewUser.Type
	res, err := s.store.Login(ctx, rec, func(u *gatehouse.User, existed bool) error {
		switch {
		case u.Type.OrSignedIn() != want:
			return errOtherUserType
		case u.Deleted:
			return errUserDeleted
		case u.Banned:
			return errUserBanned
		case !existed && onCreate != nil:
			return onCreate()
		}
		return nil
	})
	if err != nil {
		return LoginResult{}, storeErr(err, "app")
	}
	s.mu.Lock()
	if res.Replaced != nil {
		s.rev.revokeSession(res.Replaced.ID, res.Replaced.ExpiresAt)
	}
	u := res.User
	s.internApp(&u)
	s.userSnaps.Put(u.ID, &u)
	s.devices.Put(newDeviceKey(a.ID, req.DeviceID), deviceEntry{
		sessionID:  res.Session.ID,
		userID:     u.ID, // shares the snapshot's string
		durableExp: res.Session.ExpiresAt.UnixNano(),
		info:       s.infoHash(req.DeviceInfo),
	})
	s.mu.Unlock()
	if res.Replaced != nil {
		revokedReplaced.Inc()
		s.settle(ctx) // closes the replaced session's connections
		s.log.Info("session replaced by another user's login on the device", "app_id", a.ID, "session_id", res.Replaced.ID)
	}
	if res.Created && want != gatehouse.SignedIn {
		s.countNewUser(want)
		s.log.Debug("visitor user created", "app_id", a.ID, "user_id", res.User.ID, "type", string(want))
	}
	return s.issue(a, &res.User, res.Session, iat, exp)
}

// sessionSlack is how far past its newest token's expiry a session's stored
// expiry is pushed when a login writes it. A later login on the same device
// whose token expires within that bound needs no write: the store already
// promises that no token of the session outlives its stored expiry, which is
// what revocation bookkeeping relies on. Apps call login on every launch, so
// this saves most writes at a cost of at most one per device per slack.
func sessionSlack(ttl time.Duration) time.Duration {
	return min(ttl/10, 24*time.Hour)
}

// deviceEntry remembers, after a committed login, which session a device
// holds and how long the store has that session covered. The device info
// is kept as a hash only: up to 4 KiB a device would make the cache the
// biggest thing in memory (issue 8: 3,000 logins with 65 KB each took
// 500 MB), and the fast path only needs to know whether it changed.
type deviceEntry struct {
	sessionID  string
	userID     string
	durableExp int64 // Unix nanoseconds
	info       uint64
}

// deviceKey names an app's device: the first 16 bytes of the SHA-256 of
// the app id and device id (a device id may be 150 bytes; a collision
// needs 2^64 devices).
type deviceKey [16]byte

func newDeviceKey(appID, deviceID string) deviceKey {
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write([]byte{0})
	h.Write([]byte(deviceID))
	var k deviceKey
	copy(k[:], h.Sum(nil))
	return k
}

// deviceSize: the user id is shared with the user snapshot.
func deviceSize(_ deviceKey, d deviceEntry) int { return 16 + 48 + slotExtra + strSize(d.sessionID) }

// infoHash identifies a device info for the login fast path. A collision
// (2^-64, and the seed is secret) would only skip recording a changed
// device info until the session's next store write.
func (s *Service) infoHash(d gatehouse.DeviceInfo) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(d.Kind)
	h.WriteByte(0)
	h.WriteString(d.Model)
	h.WriteByte(0)
	h.WriteString(d.SDKVersion)
	return h.Sum64()
}

// fastLogin serves a returning user's login on the device it already holds
// without touching the store, when everything the store would do is already
// true: same user, session not revoked, user neither banned nor deleted,
// nothing to update, and the new token within the stored expiry. Anything
// else takes the transactional path.
func (s *Service) fastLogin(a *gatehouse.App, typ gatehouse.UserType, req *LoginInput, name *string, iat, exp time.Time) (LoginResult, bool) {
	s.mu.RLock()
	d, found := s.devices.Lookup(newDeviceKey(a.ID, req.DeviceID))
	var (
		u       *gatehouse.User
		flags   userFlags
		revoked bool
	)
	if found {
		u = s.userSnaps.Get(d.userID)
		flags = s.rev.user(d.userID)
		revoked = s.rev.sessionRevoked(d.sessionID)
	}
	s.mu.RUnlock()
	if !found || u == nil || u.UserID != req.UserID || u.Type.OrSignedIn() != typ || flags.banned || flags.deleted || revoked ||
		exp.UnixNano() > d.durableExp || d.info != s.infoHash(req.DeviceInfo) || (name != nil && *name != u.DisplayName) {
		return LoginResult{}, false
	}
	sess := gatehouse.Session{ID: d.sessionID, AppID: a.ID, UserInternalID: u.ID, DeviceID: req.DeviceID, DeviceInfo: req.DeviceInfo, ExpiresAt: time.Unix(0, d.durableExp).UTC()}
	res, err := s.issue(a, u, sess, iat, exp)
	return res, err == nil
}

// issue signs the access token of a login.
func (s *Service) issue(a *gatehouse.App, u *gatehouse.User, sess gatehouse.Session, iat, exp time.Time) (LoginResult, error) {
	claims := &token.AccessClaims{
		User: token.UserClaim{
			UserInternalID: u.ID,
			PublicUserID:   u.UserID,
			NetworkID:      a.ID,
		},
		Issuer:    s.issuer,
		Subject:   u.ID,
		Audience:  a.ID,
		SessionID: sess.ID,
		UserType:  string(u.Type.OrSignedIn()),
		ID:        randomHex(8),
		IssuedAt:  iat.Unix(),
		ExpiresAt: exp.Unix(),
	}
	raw, err := s.ring.Load().Sign(claims)
	if err != nil {
		return LoginResult{}, gatehouse.Wrap(gatehouse.Internal, err, "could not sign access token")
	}
	return LoginResult{AccessToken: gatehouse.Secret(raw), IssuedAt: iat, ExpiresAt: exp, User: *u, Session: sess}, nil
}

func (s *Service) markRevoked(sessions ...gatehouse.Session) {
	s.mu.Lock()
	s.rev.revokeSessions(sessions)
	s.mu.Unlock()
}
