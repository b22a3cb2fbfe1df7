package session

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Visitor and bot sessions: read-only sessions without an account, keyed by
// device (wire spec §6). The first login of a device creates its visitor
// (or bot) user; later logins of the device get the same user.

var (
	errVisitorsOff        = gatehouse.Errorf(gatehouse.Forbidden, "Visitor sessions are not enabled for this app")
	errBotsOff            = gatehouse.Errorf(gatehouse.Forbidden, "Bot sessions are not enabled for this app")
	errSignatureRequired  = gatehouse.Errorf(gatehouse.Unauthenticated, "Secure visitor mode is on: authSignature and authSignatureExpiresAt are required")
	errSignatureMalformed = gatehouse.Errorf(gatehouse.Invalid, "authSignature must be 64 hexadecimal characters")
	errSignatureExpiry    = gatehouse.Errorf(gatehouse.Invalid, "authSignatureExpiresAt must be an ISO 8601 date and time, as sent to the signer")
	errSignatureInvalid   = gatehouse.Errorf(gatehouse.Unauthenticated, "Invalid authSignature")
	errSignatureExpired   = gatehouse.Errorf(gatehouse.Unauthenticated, "authSignature has expired")
	errSignatureTooLong   = gatehouse.Errorf(gatehouse.Invalid, "authSignatureExpiresAt may be at most 24h ahead")
	errReadOnlyRealtime   = gatehouse.Errorf(gatehouse.PermissionDenied, "Visitor and bot sessions have no realtime access")
)

// VisitorLoginInput is what a visitor or bot login asks for. In secure
// visitor mode AuthSignature is the lowercase hex HMAC-SHA256 over
// "deviceId=<DeviceID>&authSignatureExpiresAt=<AuthSignatureExpiresAt>".
type VisitorLoginInput struct {
	DeviceID               string
	DeviceInfo             gatehouse.DeviceInfo
	AuthSignature          string
	AuthSignatureExpiresAt string
}

// VisitorLogin creates or extends the visitor or bot session of a device
// (POST /api/v5/sessions/visitor and /bot). The kind must be enabled for
// the app; in secure visitor mode the request must carry a signature of
// the device id and its expiry by one of the app's visitor secrets.
//
// admitNew, when set, is called before a new visitor or bot user is
// created (never for a returning one), inside the login's transaction; an
// error refuses the login and is returned as it is. It may run more than
// once if the store retries the transaction.
func (s *Service) VisitorLogin(ctx context.Context, apiKey gatehouse.Secret, typ gatehouse.UserType, req *VisitorLoginInput, admitNew func() error) (LoginResult, error) {
	a, ok := s.appForKey(apiKey.Reveal(), gatehouse.APIKey)
	if !ok {
		return LoginResult{}, errBadAPIKey
	}
	switch {
	case typ == gatehouse.Visitor && (a.Visitors == "" || a.Visitors == gatehouse.VisitorsOff):
		return LoginResult{}, errVisitorsOff
	case typ == gatehouse.Bot && !a.Bots:
		return LoginResult{}, errBotsOff
	case !typ.ReadOnly():
		return LoginResult{}, gatehouse.Errorf(gatehouse.Invalid, "unknown session kind %q", typ)
	}
	if err := gatehouse.ValidateDeviceID(req.DeviceID); err != nil {
		return LoginResult{}, err
	}
	now := s.now().UTC()
	if typ == gatehouse.Visitor && a.Visitors == gatehouse.VisitorsSecure {
		if err := s.checkVisitorSignature(a.ID, req, now); err != nil {
			return LoginResult{}, err
		}
	}
	// A visitor login is a login of the device's visitor user: the same
	// fast path, transaction and device rule as any other login.
	lr := &LoginInput{UserID: gatehouse.VisitorUserID(typ, req.DeviceID), DeviceID: req.DeviceID, DeviceInfo: req.DeviceInfo}
	iat := now.Truncate(time.Second)
	exp := iat.Add(a.AccessTTL)
	if res, ok := s.fastLogin(a, typ, lr, nil, iat, exp); ok {
		return res, nil
	}
	display := "Visitor"
	if typ == gatehouse.Bot {
		display = "Bot"
	}
	rec := store.LoginRecord{
		AppID:    a.ID,
		UserID:   lr.UserID,
		DeviceID: req.DeviceID,
		Now:      now,
		NewUser:  gatehouse.User{ID: randomHex(12), AppID: a.ID, UserID: lr.UserID, Type: typ, DisplayName: display, CreatedAt: now, UpdatedAt: now},
		Session: gatehouse.Session{ID: randomHex(16), DeviceInfo: req.DeviceInfo, CreatedAt: now, LastLoginAt: now,
			ExpiresAt: exp.Add(sessionSlack(a.AccessTTL))},
	}
	return s.commitLogin(ctx, a, rec, lr, iat, exp, admitNew)
}

// checkVisitorSignature checks a secure visitor login's signature: present,
// well formed, made with one of the app's visitor secrets over this device
// id and expiry, not expired, and not valid for longer than
// MaxVisitorSignatureAhead.
func (s *Service) checkVisitorSignature(appID string, req *VisitorLoginInput, now time.Time) error {
	if req.AuthSignature == "" || req.AuthSignatureExpiresAt == "" {
		return errSignatureRequired
	}
	exp, err := token.ParseVisitorExpiry(req.AuthSignatureExpiresAt)
	if err != nil {
		return errSignatureExpiry
	}
	s.mu.RLock()
	secrets := s.vsecrets[appID]
	s.mu.RUnlock()
	switch err := token.CheckVisitorSignature(secrets, req.DeviceID, req.AuthSignatureExpiresAt, req.AuthSignature); {
	case errors.Is(err, token.ErrMalformed):
		return errSignatureMalformed
	case err != nil:
		return errSignatureInvalid
	}
	switch {
	case !now.Before(exp):
		return errSignatureExpired
	case exp.Sub(now) > gatehouse.MaxVisitorSignatureAhead+token.Leeway*time.Second:
		return errSignatureTooLong
	}
	return nil
}

// Visitor secrets.

// visitorSecretLen is the length of a visitor secret: 64 lowercase hex
// digits (256 bits). The HMAC key is the secret's text, so a backend can
// pass the string as it is to any HMAC function.
const visitorSecretLen = 64

var sealVisitorAD = []byte("gatehouse visitor secret v1")

// CreateVisitorSecret creates a visitor secret for an app and returns it;
// it is shown only this once. An app keeps its two newest secrets: the
// one before this one keeps working, so a backend can switch without
// downtime, and the one before that stops at once.
func (s *Service) CreateVisitorSecret(ctx context.Context, appID string) (gatehouse.VisitorSecret, gatehouse.Secret, error) {
	if s.sealer == nil {
		return gatehouse.VisitorSecret{}, "", gatehouse.Errorf(gatehouse.Internal, "no seal key is configured: visitor secrets cannot be stored")
	}
	// Secrets are ordered by creation time: keep it strictly increasing,
	// so "the newest two" is never ambiguous.
	created := s.now().UTC().Truncate(time.Millisecond)
	existing, err := s.store.ListVisitorSecrets(ctx, appID)
	if err != nil {
		return gatehouse.VisitorSecret{}, "", storeErr(err, "visitor secret")
	}
	if n := len(existing); n > 0 && !created.After(existing[n-1].CreatedAt) {
		created = existing[n-1].CreatedAt.Add(time.Millisecond)
	}
	raw := randomHex(visitorSecretLen / 2)
	nonce := make([]byte, s.sealer.NonceSize())
	randRead(nonce)
	v := gatehouse.VisitorSecret{ID: "vsk_" + randomHex(8), AppID: appID, CreatedAt: created,
		Sealed: s.sealer.Seal(nonce, nonce, []byte(raw), sealVisitorAD)}
	if _, err := s.store.AddVisitorSecret(ctx, v, gatehouse.MaxVisitorSecrets); err != nil {
		return v, "", storeErr(err, "app")
	}
	if err := s.reloadVisitorSecrets(ctx, appID); err != nil {
		return v, "", err
	}
	s.log.Info("visitor secret created", "app_id", appID, "secret_id", v.ID)
	v.Sealed = nil
	return v, gatehouse.Secret(raw), nil
}

// VisitorSecrets lists an app's visitor secrets (ids and dates only).
func (s *Service) VisitorSecrets(ctx context.Context, appID string) ([]gatehouse.VisitorSecret, error) {
	if _, err := s.App(ctx, appID); err != nil {
		return nil, err
	}
	list, err := s.store.ListVisitorSecrets(ctx, appID)
	for i := range list {
		list[i].Sealed = nil
	}
	return list, storeErr(err, "visitor secret")
}

// DeleteVisitorSecret removes a visitor secret; signatures made with it
// are refused at once.
func (s *Service) DeleteVisitorSecret(ctx context.Context, appID, id string) error {
	if err := s.store.DeleteVisitorSecret(ctx, appID, id); err != nil {
		return storeErr(err, "Visitor secret")
	}
	s.log.Info("visitor secret deleted", "app_id", appID, "secret_id", id)
	return s.reloadVisitorSecrets(ctx, appID)
}

// reloadVisitorSecrets replaces the in-memory secrets of an app with the
// stored ones.
func (s *Service) reloadVisitorSecrets(ctx context.Context, appID string) error {
	list, err := s.store.ListVisitorSecrets(ctx, appID)
	if err != nil {
		return storeErr(err, "visitor secret")
	}
	keys, err := s.unsealVisitorSecrets(list)
	if err != nil {
		return gatehouse.Wrap(gatehouse.Internal, err, "could not unseal visitor secrets")
	}
	s.mu.Lock()
	s.vsecrets[appID] = keys
	s.mu.Unlock()
	return nil
}

func (s *Service) unsealVisitorSecrets(list []gatehouse.VisitorSecret) ([][]byte, error) {
	var keys [][]byte
	for _, v := range list {
		if s.sealer == nil || len(v.Sealed) < s.sealer.NonceSize() {
			return nil, errors.New("cannot unseal visitor secret " + v.ID + ": no or wrong seal key")
		}
		n := s.sealer.NonceSize()
		k, err := s.sealer.Open(nil, v.Sealed[:n], v.Sealed[n:], sealVisitorAD)
		if err != nil {
			return nil, errors.New("cannot unseal visitor secret " + v.ID + ": wrong seal key")
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Upkeep.

// purgeVisitors deletes visitor and bot users whose last token expired
// more than the retention ago (with their sessions), and forgets them.
func (s *Service) purgeVisitors(ctx context.Context) {
	gone, err := s.store.PurgeVisitors(ctx, []gatehouse.UserType{gatehouse.Visitor, gatehouse.Bot}, s.now().Add(-s.visitorRetention))
	if err != nil {
		s.log.Error("purge visitors", "err", err)
		return
	}
	if err := s.recountVisitors(ctx); err != nil {
		s.log.Error("count visitor users", "err", err)
	}
	if len(gone) == 0 {
		return
	}
	s.mu.Lock()
	for _, u := range gone {
		s.userSnaps.Delete(u.ID)
		s.rev.forgetUser(u.ID)
	}
	s.mu.Unlock()
	s.log.Info("purged unused visitor and bot users", "count", len(gone))
}

// VisitorUsers returns how many visitor and bot users exist (deleted ones
// excluded), for the metrics: counted from the store at start and after
// each purge, and counted up by this node's logins that create one in
// between (another node's creations show at the next recount).
func (s *Service) VisitorUsers() map[string]float64 {
	return map[string]float64{
		string(gatehouse.Visitor): float64(s.visitorUsers[0].Load()),
		string(gatehouse.Bot):     float64(s.visitorUsers[1].Load()),
	}
}

func (s *Service) recountVisitors(ctx context.Context) error {
	for i, t := range []gatehouse.UserType{gatehouse.Visitor, gatehouse.Bot} {
		n, err := s.store.CountUsers(ctx, t)
		if err != nil {
			return err
		}
		s.visitorUsers[i].Store(int64(n))
	}
	return nil
}

func (s *Service) countNewUser(t gatehouse.UserType) {
	switch t {
	case gatehouse.Visitor:
		s.visitorUsers[0].Add(1)
	case gatehouse.Bot:
		s.visitorUsers[1].Add(1)
	}
}

// AuthenticateRealtime is Authenticate for the realtime broker: visitor and
// bot tokens are refused (the SDKs do not connect them), for good.
func (s *Service) AuthenticateRealtime(ctx context.Context, raw string) (Principal, error) {
	p, err := s.Authenticate(ctx, raw)
	if err == nil && p.UserType.ReadOnly() {
		return Principal{}, errReadOnlyRealtime
	}
	return p, err
}
