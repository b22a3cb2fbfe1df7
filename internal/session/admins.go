package session

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-auth/gatehouse"
)

// Console administrators, their admin API tokens, console sessions and the
// audit log. The roles' rules are gatehouse.Role.Allows; this file applies
// them to the callers (Authorize) and keeps the credentials: passwords as
// argon2id hashes, tokens and session cookies as SHA-256 digests (they are
// 256-bit random values, so a fast hash is enough), all compared in
// constant time.

// Console session lifetimes (OWASP ASVS 7.3): a session ends after
// ConsoleIdle without a request, and ConsoleAbsolute after sign-in
// whatever happens.
const (
	ConsoleIdle     = 30 * time.Minute
	ConsoleAbsolute = 12 * time.Hour
	// touchEvery bounds the writes that keep a session (or a token's last
	// use) current: at most one a minute.
	touchEvery = time.Minute
)

// Password rules.
const (
	MinPasswordLen = 12
	// MaxPasswordLen refuses huge passwords before hashing (SECURITY.md
	// case 77): argon2 reads them whole.
	MaxPasswordLen = 256
)

// argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// errSignIn is the one answer to a wrong name or a wrong password, so the
// console does not tell which administrators exist.
var errSignIn = gatehouse.Errorf(gatehouse.Unauthenticated, "Wrong name or password")

var errAdminToken = gatehouse.Errorf(gatehouse.Unauthenticated, "Admin token is invalid, expired or revoked")

// HashPassword returns the argon2id PHC string of a password.
func HashPassword(pw string) (string, error) {
	if err := checkPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func checkPassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return gatehouse.Errorf(gatehouse.Invalid, "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// dummyHash is compared against when the administrator does not exist, so
// a wrong name costs the same time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("gatehouse-no-such-administrator")
	return h
})

// verifyPassword checks pw against a PHC string in constant time.
func verifyPassword(phc, pw string) bool {
	if len(pw) > MaxPasswordLen {
		return false
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NewPassword returns a random initial password: 128 bits in five groups
// of lower-case letters and digits, easy to type once.
func NewPassword() gatehouse.Secret {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 25)
	rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return gatehouse.Secret(sb.String())
}

// Authorize refuses an actor without permission p.
func Authorize(a gatehouse.Actor, p gatehouse.Permission) error {
	if a.Can(p) {
		return nil
	}
	switch p {
	case gatehouse.ManageAdmins:
		return gatehouse.Errorf(gatehouse.Forbidden, "Only owners manage administrators")
	default:
		return gatehouse.Errorf(gatehouse.Forbidden, "A %s cannot change anything", a.Role)
	}
}

// CreateAdmin creates an administrator with a random initial password,
// returned once. The actor must be allowed to manage administrators.
func (s *Service) CreateAdmin(ctx context.Context, actor gatehouse.Actor, name string, role gatehouse.Role) (gatehouse.Admin, gatehouse.Secret, error) {
	if err := Authorize(actor, gatehouse.ManageAdmins); err != nil {
		return gatehouse.Admin{}, "", err
	}
	if err := gatehouse.ValidateAdminName(name); err != nil {
		return gatehouse.Admin{}, "", err
	}
	if _, err := gatehouse.ParseRole(string(role)); err != nil {
		return gatehouse.Admin{}, "", err
	}
	pw := NewPassword()
	hash, err := HashPassword(pw.Reveal())
	if err != nil {
		return gatehouse.Admin{}, "", err
	}
	now := s.now().UTC()
	a := gatehouse.Admin{ID: "adm_" + randomHex(8), Name: name, Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateAdmin(ctx, a); err != nil {
		return a, "", storeErr(err, "Administrator")
	}
	return a, pw, nil
}

// Admin returns an administrator by name.
func (s *Service) Admin(ctx context.Context, name string) (gatehouse.Admin, error) {
	a, err := s.store.GetAdmin(ctx, name)
	return a, storeErr(err, "Administrator")
}

// Admins lists the administrators.
func (s *Service) Admins(ctx context.Context) ([]gatehouse.Admin, error) {
	list, err := s.store.ListAdmins(ctx)
	return list, storeErr(err, "Administrator")
}

// AdminChange is what UpdateAdmin changes; nil fields stay.
type AdminChange struct {
	Role     *gatehouse.Role
	Disabled *bool
}

// UpdateAdmin changes an administrator's role or disables them (which ends
// their console sessions and stops their tokens). Owners only; nobody
// changes their own role or disables themselves, so a console always keeps
// the owner who is using it.
func (s *Service) UpdateAdmin(ctx context.Context, actor gatehouse.Actor, name string, c AdminChange) (gatehouse.Admin, error) {
	if err := Authorize(actor, gatehouse.ManageAdmins); err != nil {
		return gatehouse.Admin{}, err
	}
	if c.Role != nil {
		if _, err := gatehouse.ParseRole(string(*c.Role)); err != nil {
			return gatehouse.Admin{}, err
		}
	}
	cur, err := s.Admin(ctx, name)
	if err != nil {
		return cur, err
	}
	if actor.Kind == gatehouse.ActorAdmin && actor.AdminID == cur.ID {
		return cur, gatehouse.Errorf(gatehouse.Forbidden, "You cannot change your own role or disable yourself")
	}
	now := s.now().UTC()
	a, err := s.store.UpdateAdmin(ctx, cur.ID, func(a *gatehouse.Admin) error {
		if c.Role != nil {
			a.Role = *c.Role
		}
		if c.Disabled != nil {
			if *c.Disabled && a.DisabledAt.IsZero() {
				a.DisabledAt = now
			} else if !*c.Disabled {
				a.DisabledAt = time.Time{}
			}
		}
		a.UpdatedAt = now
		return nil
	})
	if err != nil {
		return a, storeErr(err, "Administrator")
	}
	if !a.Active() {
		if _, err := s.store.DeleteAdminConsoleSessions(ctx, a.ID); err != nil {
			return a, storeErr(err, "Console session")
		}
	}
	return a, nil
}

// ChangePassword sets an administrator's password after checking the
// current one, and ends their other console sessions (ASVS 7.4.3).
func (s *Service) ChangePassword(ctx context.Context, adminID, current, next, keepSession string) error {
	a, err := s.store.GetAdminByID(ctx, adminID)
	if err != nil {
		return storeErr(err, "Administrator")
	}
	if !verifyPassword(a.PasswordHash, current) {
		return gatehouse.Errorf(gatehouse.Unauthenticated, "The current password is wrong")
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if _, err := s.store.UpdateAdmin(ctx, adminID, func(a *gatehouse.Admin) error {
		a.PasswordHash, a.UpdatedAt = hash, now
		return nil
	}); err != nil {
		return storeErr(err, "Administrator")
	}
	keep, err := s.store.GetConsoleSession(ctx, keepSession)
	if _, err2 := s.store.DeleteAdminConsoleSessions(ctx, adminID); err2 != nil {
		return storeErr(err2, "Console session")
	}
	if err == nil {
		keep.CSRF = randomHex(32)
		if err := s.store.CreateConsoleSession(ctx, keep); err != nil {
			return storeErr(err, "Console session")
		}
	}
	return nil
}

// Admin API tokens: "ghat_" + 16 hex digits of id + "_" + 64 hex digits of
// secret. The id finds the stored digest; the digest of the whole token is
// compared in constant time.
const adminTokenPrefix = "ghat_"

// CreateAdminToken creates an admin API token for the administrator named
// admin, valid for ttl (DefaultAdminTokenTTL when 0). The token is
// returned once. Owners create tokens for anyone, others for themselves.
func (s *Service) CreateAdminToken(ctx context.Context, actor gatehouse.Actor, admin, name string, ttl time.Duration) (gatehouse.AdminToken, gatehouse.Secret, error) {
	a, err := s.Admin(ctx, admin)
	if err != nil {
		return gatehouse.AdminToken{}, "", err
	}
	if !actor.CanManageTokensOf(a.ID) {
		return gatehouse.AdminToken{}, "", gatehouse.Errorf(gatehouse.Forbidden, "Only owners manage other administrators' tokens")
	}
	if ttl == 0 {
		ttl = gatehouse.DefaultAdminTokenTTL
	}
	if ttl < gatehouse.MinAdminTokenTTL || ttl > gatehouse.MaxAdminTokenTTL {
		return gatehouse.AdminToken{}, "", gatehouse.Errorf(gatehouse.Invalid, "token lifetime must be between %s and %dh", gatehouse.MinAdminTokenTTL, int(gatehouse.MaxAdminTokenTTL.Hours()))
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "token"
	}
	if len(name) > 100 {
		return gatehouse.AdminToken{}, "", gatehouse.Errorf(gatehouse.Invalid, "token name must be at most 100 characters")
	}
	id := randomHex(8)
	tok := gatehouse.Secret(adminTokenPrefix + id + "_" + randomHex(32))
	now := s.now().UTC()
	t := gatehouse.AdminToken{ID: id, AdminID: a.ID, Name: name, Hash: digest(tok.Reveal()), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.CreateAdminToken(ctx, t); err != nil {
		return t, "", storeErr(err, "Admin token")
	}
	return t, tok, nil
}

// AdminTokens lists an administrator's tokens (never the tokens).
func (s *Service) AdminTokens(ctx context.Context, actor gatehouse.Actor, admin string) ([]gatehouse.AdminToken, error) {
	a, err := s.Admin(ctx, admin)
	if err != nil {
		return nil, err
	}
	if !actor.CanManageTokensOf(a.ID) && !actor.Can(gatehouse.ManageAdmins) && actor.AdminID != a.ID {
		return nil, gatehouse.Errorf(gatehouse.Forbidden, "Only owners see other administrators' tokens")
	}
	list, err := s.store.ListAdminTokens(ctx, a.ID)
	return list, storeErr(err, "Admin token")
}

// RevokeAdminToken revokes one of an administrator's tokens; it is refused
// from then on, on every node (each use reads the store).
func (s *Service) RevokeAdminToken(ctx context.Context, actor gatehouse.Actor, admin, id string) (gatehouse.AdminToken, error) {
	a, err := s.Admin(ctx, admin)
	if err != nil {
		return gatehouse.AdminToken{}, err
	}
	if !actor.CanManageTokensOf(a.ID) {
		return gatehouse.AdminToken{}, gatehouse.Errorf(gatehouse.Forbidden, "Only owners manage other administrators' tokens")
	}
	t, err := s.store.RevokeAdminToken(ctx, a.ID, id, s.now().UTC())
	return t, storeErr(err, "Admin token")
}

// AuthenticateAdmin returns the actor of an admin credential: the root
// admin token, or an administrator's unexpired, unrevoked token (with that
// administrator's current role). via says how the call came ("api", "cli").
func (s *Service) AuthenticateAdmin(ctx context.Context, tok, via string) (gatehouse.Actor, error) {
	if s.CheckAdmin(tok) {
		return gatehouse.RootActor(via), nil
	}
	rest, ok := strings.CutPrefix(tok, adminTokenPrefix)
	if !ok || len(rest) != 16+1+64 || rest[16] != '_' {
		return gatehouse.Actor{}, errAdminToken
	}
	if _, err := hex.DecodeString(rest[:16]); err != nil {
		return gatehouse.Actor{}, errAdminToken
	}
	t, err := s.store.GetAdminToken(ctx, rest[:16])
	if err != nil {
		if e := storeErr(err, "Admin token"); gatehouse.ErrorCode(e) != gatehouse.NotFound {
			return gatehouse.Actor{}, e
		}
		return gatehouse.Actor{}, errAdminToken
	}
	now := s.now()
	if subtle.ConstantTimeCompare(digest(tok), t.Hash) != 1 || !t.Usable(now) {
		return gatehouse.Actor{}, errAdminToken
	}
	a, err := s.store.GetAdminByID(ctx, t.AdminID)
	if err != nil || !a.Active() {
		return gatehouse.Actor{}, errAdminToken
	}
	if now.Sub(t.LastUsed) > touchEvery {
		if err := s.store.TouchAdminToken(ctx, t.ID, now.UTC()); err != nil {
			s.log.Warn("record admin token use", "err", err)
		}
	}
	return gatehouse.Actor{Kind: gatehouse.ActorAdmin, AdminID: a.ID, Name: a.Name, Role: a.Role, Via: via}, nil
}

// SignIn checks an administrator's name and password and opens a console
// session. It returns the cookie value (shown only to the browser; the
// store keeps its digest) and the session. A wrong name and a wrong
// password get the same error after the same work. Slowing down and
// locking after failures is the caller's (per address and name).
func (s *Service) SignIn(ctx context.Context, name, password, addr string) (gatehouse.Secret, gatehouse.ConsoleSession, gatehouse.Admin, error) {
	var none gatehouse.ConsoleSession
	if len(password) > MaxPasswordLen {
		return "", none, gatehouse.Admin{}, errSignIn
	}
	a, err := s.store.GetAdmin(ctx, name)
	if err != nil {
		if e := storeErr(err, "Administrator"); gatehouse.ErrorCode(e) != gatehouse.NotFound {
			return "", none, a, e
		}
		verifyPassword(dummyHash(), password)
		return "", none, a, errSignIn
	}
	if !verifyPassword(a.PasswordHash, password) || !a.Active() {
		return "", none, a, errSignIn
	}
	// A new random session id at every sign-in: nothing a browser held
	// before signing in (session fixation) is ever a session.
	cookie := gatehouse.Secret(randomHex(32))
	now := s.now().UTC()
	cs := gatehouse.ConsoleSession{ID: hex.EncodeToString(digest(cookie.Reveal())), AdminID: a.ID, CSRF: randomHex(32), Addr: addr,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(ConsoleAbsolute)}
	if err := s.store.CreateConsoleSession(ctx, cs); err != nil {
		return "", none, a, storeErr(err, "Console session")
	}
	return cookie, cs, a, nil
}

var errConsoleSession = gatehouse.Errorf(gatehouse.Unauthenticated, "Sign in again")

// ConsoleSession returns the session of a cookie value and its
// administrator, ending it (on the server) if it is idle or past its
// absolute end, or if the administrator was disabled.
func (s *Service) ConsoleSession(ctx context.Context, cookie string) (gatehouse.ConsoleSession, gatehouse.Admin, error) {
	var none gatehouse.Admin
	if len(cookie) != 64 {
		return gatehouse.ConsoleSession{}, none, errConsoleSession
	}
	id := hex.EncodeToString(digest(cookie))
	cs, err := s.store.GetConsoleSession(ctx, id)
	if err != nil {
		if e := storeErr(err, "Console session"); gatehouse.ErrorCode(e) != gatehouse.NotFound {
			return cs, none, e
		}
		return cs, none, errConsoleSession
	}
	now := s.now()
	if !now.Before(cs.ExpiresAt) || now.Sub(cs.LastSeen) >= ConsoleIdle {
		s.store.DeleteConsoleSession(ctx, id)
		return cs, none, errConsoleSession
	}
	a, err := s.store.GetAdminByID(ctx, cs.AdminID)
	if err != nil || !a.Active() {
		s.store.DeleteConsoleSession(ctx, id)
		return cs, none, errConsoleSession
	}
	if now.Sub(cs.LastSeen) >= touchEvery {
		if err := s.store.TouchConsoleSession(ctx, id, now.UTC()); err != nil {
			return cs, none, storeErr(err, "Console session")
		}
		cs.LastSeen = now.UTC()
	}
	return cs, a, nil
}

// SignOut ends a console session on the server.
func (s *Service) SignOut(ctx context.Context, sessionID string) error {
	return storeErr(s.store.DeleteConsoleSession(ctx, sessionID), "Console session")
}

// Audit records an administrative action. It never fails the action: a
// store failure is logged (without the entry's detail) and counted as an
// error in the log.
func (s *Service) Audit(ctx context.Context, e gatehouse.AuditEntry) {
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	if e.Result == "" {
		e.Result = "ok"
	}
	// A cancelled request still gets its entry.
	if _, err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit log write failed", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// AuditLog lists audit entries.
func (s *Service) AuditLog(ctx context.Context, actor gatehouse.Actor, f gatehouse.AuditFilter) ([]gatehouse.AuditEntry, error) {
	if err := Authorize(actor, gatehouse.Read); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	list, err := s.store.ListAudit(ctx, f)
	return list, storeErr(err, "Audit entry")
}

// SearchUsers finds an app's users by public id or display name.
func (s *Service) SearchUsers(ctx context.Context, appID, query string, offset, limit int) ([]gatehouse.User, int, error) {
	if len(query) > gatehouse.MaxUserIDLen {
		query = query[:gatehouse.MaxUserIDLen]
	}
	list, n, err := s.store.SearchUsers(ctx, appID, query, max(0, offset), min(max(1, limit), 200))
	return list, n, storeErr(err, "User")
}

// LiveSessions counts the live sessions of an app, or of all apps.
func (s *Service) LiveSessions(ctx context.Context, appID string) (int, error) {
	n, err := s.store.CountLiveSessions(ctx, appID, s.now())
	return n, storeErr(err, "Session")
}

// PurgeConsoleSessions removes idle and ended console sessions.
func (s *Service) PurgeConsoleSessions(ctx context.Context) (int, error) {
	now := s.now()
	n, err := s.store.PurgeConsoleSessions(ctx, now, now.Add(-ConsoleIdle))
	return n, storeErr(err, "Console session")
}
