package gatehouse

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Role is what a console administrator may do.
type Role string

// The roles, from most to least powerful. The root admin token acts as an
// owner.
const (
	// RoleOwner manages administrators, and everything an admin does.
	RoleOwner Role = "owner"
	// RoleAdmin manages apps, keys, users and sessions, and rotates the
	// signing key.
	RoleAdmin Role = "admin"
	// RoleViewer reads everything an admin manages, and changes nothing.
	RoleViewer Role = "viewer"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOwner, RoleAdmin, RoleViewer:
		return r, nil
	}
	return "", Errorf(Invalid, "role must be owner, admin or viewer")
}

// Permission is a class of administrative action.
type Permission string

// The permissions roles grant.
const (
	// Read lists and shows apps, keys (never their secrets), users,
	// sessions, the audit log and the dashboard.
	Read Permission = "read"
	// Manage changes apps, keys, users and sessions.
	Manage Permission = "manage"
	// ManageAdmins creates administrators and changes their roles and
	// tokens (an administrator's own tokens need only Read: see
	// Actor.CanManageTokensOf).
	ManageAdmins Permission = "manage_admins"
)

// Allows reports whether the role grants p.
func (r Role) Allows(p Permission) bool {
	switch r {
	case RoleOwner:
		return true
	case RoleAdmin:
		return p == Read || p == Manage
	case RoleViewer:
		return p == Read
	}
	return false
}

// Admin is a console administrator. The password is stored only as a
// slow hash (argon2id, see internal/session).
type Admin struct {
	ID           string
	Name         string
	Role         Role
	PasswordHash string // PHC string; empty: cannot sign in with a password
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// DisabledAt, when set, ends every session and token of the
	// administrator.
	DisabledAt time.Time
}

// Active reports whether the administrator may sign in and use tokens.
func (a *Admin) Active() bool { return a.DisabledAt.IsZero() }

// ValidateAdminName checks an administrator's name: 1 to 64 letters,
// digits and . _ @ - characters, so it is safe in a URL path, a log line
// and a shell.
func ValidateAdminName(name string) error {
	if name == "" || len(name) > 64 {
		return Errorf(Invalid, "administrator name must be 1 to 64 characters")
	}
	for _, c := range name {
		if c > unicode.MaxASCII || !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("._@-", c)) {
			return Errorf(Invalid, "administrator name may hold only letters, digits and . _ @ -")
		}
	}
	return nil
}

// AdminToken is an administrator's admin API token. Only the SHA-256 of
// the token is stored; the token is shown once, at creation.
type AdminToken struct {
	ID        string // public, part of the token string
	AdminID   string
	Name      string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while not revoked
	LastUsed  time.Time // zero if never used
}

// Usable reports whether the token is neither revoked nor expired at now.
func (t *AdminToken) Usable(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt)
}

// Default and allowed admin-token lifetimes.
const (
	DefaultAdminTokenTTL = 365 * 24 * time.Hour
	MaxAdminTokenTTL     = 2 * 365 * 24 * time.Hour
	MinAdminTokenTTL     = time.Minute
)

// ConsoleSession is a signed-in console administrator. Its ID is the
// SHA-256 of the cookie value, so a copy of the store cannot be replayed
// as a cookie.
type ConsoleSession struct {
	ID        string
	AdminID   string
	CSRF      string // the anti-CSRF token of the session's forms
	Addr      string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute end
}

// ActorKind says who acted.
type ActorKind string

// Actor kinds.
const (
	ActorRoot   ActorKind = "root"   // the root admin token
	ActorAdmin  ActorKind = "admin"  // an administrator (console or own token)
	ActorSystem ActorKind = "system" // the server itself
	ActorAnon   ActorKind = "anonymous"
)

// Actor is who performs an administrative action.
type Actor struct {
	Kind    ActorKind
	AdminID string
	Name    string // the administrator's name; "root" for the root token
	Role    Role
	// Via says through what: "console", "api" or "cli".
	Via string
}

// RootActor is the root admin token.
func RootActor(via string) Actor {
	return Actor{Kind: ActorRoot, Name: "root", Role: RoleOwner, Via: via}
}

// Can reports whether the actor holds p.
func (a Actor) Can(p Permission) bool { return a.Role.Allows(p) }

// CanManageTokensOf reports whether the actor may create and revoke the
// admin tokens of the administrator adminID: owners any administrator's;
// others their own, signed in to the console. A token never mints or
// revokes tokens for its own administrator (a viewer's token changes
// nothing, and a leaked token cannot outlive its expiry by minting a
// successor).
func (a Actor) CanManageTokensOf(adminID string) bool {
	return a.Can(ManageAdmins) || (a.Kind == ActorAdmin && a.AdminID == adminID && a.Via == ViaConsole)
}

// Where an action came from.
const (
	ViaConsole = "console"
	ViaAPI     = "api"
	ViaCLI     = "cli"
)

// AuditEntry records one administrative action. It never holds a secret.
type AuditEntry struct {
	ID        int64 // assigned by the store, increasing
	At        time.Time
	ActorKind ActorKind
	Actor     string // administrator name, "root" or "anonymous"
	Via       string // console, api, cli
	Action    string // e.g. user.ban, app.update, console.signin
	AppID     string
	Target    string // user id, key id, session id, administrator name…
	Addr      string // client address
	Result    string // "ok", or the error code ("forbidden", "not_found"…)
	Detail    string // short, secret-free description (e.g. "secureMode=on")
}

// AuditFilter selects audit entries. Zero fields match everything.
type AuditFilter struct {
	Actor  string
	Action string // exact, or a prefix ending in "." (e.g. "user.")
	AppID  string
	Since  time.Time
	Until  time.Time
	Before int64 // only entries with a smaller ID (paging)
	Limit  int   // at most this many, newest first (default 100)
}

// ParseAuditFilter reads an audit filter from query parameters: actor,
// action, appId, since and until (RFC 3339), before (an entry id), limit.
func ParseAuditFilter(q url.Values) (AuditFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := AuditFilter{Actor: get("actor"), Action: get("action"), AppID: get("appId")}
	for k, p := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := get(k); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, Errorf(Invalid, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", k)
			}
			*p = t
		}
	}
	for k, p := range map[string]*int64{"before": &f.Before, "limit": new(int64)} {
		if v := get(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return f, Errorf(Invalid, "%s must be a whole number", k)
			}
			*p = n
			if k == "limit" {
				f.Limit = int(min(n, 500))
			}
		}
	}
	return f, nil
}
