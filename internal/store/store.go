// Package store declares the persistence contract of the Gatehouse server.
// Every backend (internal/store/sqlite, later PostgreSQL) implements Store and
// passes the conformance suite in internal/store/storetest.
//
// Backends hold no business rules. Where a rule must run inside a
// transaction (a login must see a ban committed before it), the caller passes
// a check function that the backend runs on the row it read, in the same
// transaction. Where a backend must apply a rule to what it read (the
// one-live-session-per-device rule of a login), it calls the rule from the
// root package (gatehouse.ClaimDevice) and only applies the result.
//
// # Callbacks
//
// The update and check functions passed to UpdateApp, UpdateUser and Login
// run inside the backend's transaction, so they obey two rules:
//
//   - They must not call the store (or anything that may call it). SQLite
//     runs them on its single writer goroutine, so a store write inside one
//     waits forever for itself, and every other write waits behind it; on
//     PostgreSQL they hold a transaction and a row lock open.
//   - They may run more than once for one call (a backend may retry a
//     transaction that lost a race), each time on a fresh read of the row.
//     They must be pure functions of their arguments and the caller's
//     immutable state: no counting, no side effects that a second run would
//     repeat. Only the result of the run that committed is returned.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// Sentinel errors, wrapped with %w by the backends.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store is everything the server persists.
type Store interface {
	// CreateApp stores a new app. Returns ErrConflict if the id is taken.
	CreateApp(ctx context.Context, a gatehouse.App) error
	// GetApp returns an app. Returns ErrNotFound if there is none.
	GetApp(ctx context.Context, id string) (gatehouse.App, error)
	// ListApps returns every app, oldest first.
	ListApps(ctx context.Context) ([]gatehouse.App, error)
	// UpdateApp reads an app in a transaction, lets update change it, and
	// stores and returns the result: two concurrent updates never lose one
	// another's change. If update returns an error nothing is written and
	// that error is returned. Returns ErrNotFound if there is no such app.
	// update follows the callback rules above.
	UpdateApp(ctx context.Context, id string, update func(*gatehouse.App) error) (gatehouse.App, error)

	// CreateKey stores an API or server key. Returns ErrNotFound if its app
	// does not exist, ErrConflict if its id is taken.
	CreateKey(ctx context.Context, k gatehouse.Key) error
	// ListKeys returns the keys of one kind of an app, oldest first,
	// including revoked ones.
	ListKeys(ctx context.Context, appID string, kind gatehouse.KeyKind) ([]gatehouse.Key, error)
	// AllActiveKeys returns every key that is not revoked, of every app.
	AllActiveKeys(ctx context.Context) ([]gatehouse.Key, error)
	// RevokeKey marks a key revoked at the given time. Returns ErrNotFound if
	// the app has no such key of that kind. Revoking a revoked key keeps its
	// first revocation time.
	RevokeKey(ctx context.Context, appID string, kind gatehouse.KeyKind, keyID string, at time.Time) (gatehouse.Key, error)

	// GetUser returns a user by app and public id. Returns ErrNotFound.
	GetUser(ctx context.Context, appID, userID string) (gatehouse.User, error)
	// ListRestrictedUsers returns every banned or deleted user.
	ListRestrictedUsers(ctx context.Context) ([]gatehouse.User, error)
	// UpdateUser reads a user in a transaction, lets update change it, and
	// stores the result. If update returns an error nothing is written and
	// that error is returned. If revokeSessions is true, every live session of
	// the user is revoked at the user's UpdatedAt in the same transaction and
	// returned. Returns ErrNotFound if there is no such user. update follows
	// the callback rules above.
	UpdateUser(ctx context.Context, appID, userID string, update func(*gatehouse.User) error, revokeSessions bool) (gatehouse.User, []gatehouse.Session, error)

	// Login records a login in one transaction: it reads the user by app and
	// public id (or starts from l.NewUser when there is none), runs check on
	// it (an error aborts everything and is returned), stores the user, and
	// then claims the device with gatehouse.ClaimDevice on the device's
	// unrevoked session: one of the same user is extended, one of another
	// user is revoked (and returned), and otherwise l.Session is created. The
	// returned session is the one the new token belongs to. check follows the
	// callback rules above.
	Login(ctx context.Context, l LoginRecord, check func(u *gatehouse.User, existed bool) error) (LoginResult, error)

	// GetSession returns a session. Returns ErrNotFound.
	GetSession(ctx context.Context, appID, id string) (gatehouse.Session, error)
	// ListSessions returns the sessions of a user (by internal id), newest
	// first, live ones and those revoked or expired since `since`.
	ListSessions(ctx context.Context, appID, userInternalID string, since time.Time) ([]gatehouse.Session, error)
	// RevokeSession marks a session revoked. Revoking a revoked session keeps
	// its first revocation time and is not an error. Returns ErrNotFound.
	RevokeSession(ctx context.Context, appID, id string, at time.Time) (gatehouse.Session, error)
	// RevokeUserSessions revokes every live session of a user (by internal
	// id) and returns them.
	RevokeUserSessions(ctx context.Context, appID, userInternalID string, at time.Time) ([]gatehouse.Session, error)
	// ListRevokedSessions returns the revoked sessions whose newest token has
	// not yet expired at now: the state token validation must keep in memory.
	ListRevokedSessions(ctx context.Context, now time.Time) ([]gatehouse.Session, error)
	// PurgeSessions deletes sessions that expired before `before`, and
	// reports how many.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)

	// GetOrCreateUser returns the user with the public id, creating u when
	// there is none. Returns ErrNotFound if the app does not exist.
	GetOrCreateUser(ctx context.Context, u gatehouse.User) (gatehouse.User, error)

	// CreateVerificationKey stores a customer-token verification key.
	// Returns ErrNotFound if its app does not exist, ErrConflict if its id
	// is taken.
	CreateVerificationKey(ctx context.Context, k gatehouse.VerificationKey) error
	// ListVerificationKeys returns an app's verification keys, oldest first.
	ListVerificationKeys(ctx context.Context, appID string) ([]gatehouse.VerificationKey, error)
	// AllVerificationKeys returns the verification keys of every app.
	AllVerificationKeys(ctx context.Context) ([]gatehouse.VerificationKey, error)
	// DeleteVerificationKey removes a key. Returns ErrNotFound.
	DeleteVerificationKey(ctx context.Context, appID, id string) error

	// RevokeToken records a revoked customer token (by digest) until it
	// expires. Revoking it again is not an error.
	RevokeToken(ctx context.Context, t RevokedToken) error
	// ListRevokedTokens returns the revoked tokens that expire after now.
	ListRevokedTokens(ctx context.Context, now time.Time) ([]RevokedToken, error)

	// AddVisitorSecret stores a visitor secret and, in the same
	// transaction, deletes the app's older secrets beyond the newest keep
	// (s included), returning the deleted ones, and writes an
	// EventVisitorSecrets. Returns ErrNotFound if the app does not exist,
	// ErrConflict if the id is taken.
	AddVisitorSecret(ctx context.Context, s gatehouse.VisitorSecret, keep int) ([]gatehouse.VisitorSecret, error)
	// ListVisitorSecrets returns an app's visitor secrets, oldest first.
	ListVisitorSecrets(ctx context.Context, appID string) ([]gatehouse.VisitorSecret, error)
	// AllVisitorSecrets returns the visitor secrets of every app.
	AllVisitorSecrets(ctx context.Context) ([]gatehouse.VisitorSecret, error)
	// DeleteVisitorSecret removes a visitor secret and writes an
	// EventVisitorSecrets. Returns ErrNotFound.
	DeleteVisitorSecret(ctx context.Context, appID, id string) error

	// PurgeVisitors deletes, with their sessions, the users of the given
	// types that are neither banned nor deleted, were created before
	// `before` and have no session expiring at or after `before`; it
	// returns the deleted users.
	PurgeVisitors(ctx context.Context, types []gatehouse.UserType, before time.Time) ([]gatehouse.User, error)
	// CountUsers returns how many users of a type exist, deleted ones
	// excluded, across every app.
	CountUsers(ctx context.Context, t gatehouse.UserType) (int, error)

	// SigningKeys returns the key ring.
	SigningKeys(ctx context.Context) ([]token.SigningKey, error)
	// AddSigningKey stores a new signing key.
	AddSigningKey(ctx context.Context, k token.SigningKey) error
	// RotateSigningKey, in one transaction, marks every active signing key
	// retired at k.CreatedAt and stores k. If dropOld is true the other keys
	// are deleted instead, so nothing they signed verifies any more.
	RotateSigningKey(ctx context.Context, k token.SigningKey, dropOld bool) error

	// Secret returns a server-wide secret by name. Returns ErrNotFound.
	Secret(ctx context.Context, name string) ([]byte, error)
	// PutSecretIfAbsent stores a secret unless one of that name exists, and
	// returns the stored value either way.
	PutSecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error)
	// SetSecret stores or replaces a secret.
	SetSecret(ctx context.Context, name string, value []byte) error

	// Events returns up to limit events with an id greater than after, in
	// id order (see Event for the guarantees). Returns ErrPruned if events
	// after that id were pruned. Every change above that affects validation
	// or live connections writes its event in its own transaction: creating
	// and updating apps, creating and revoking keys, UpdateUser, a Login
	// that revokes another user's session, revoking sessions, adding and
	// removing verification keys, revoking tokens, adding and rotating
	// signing keys, and SetSecret.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
	// LastEventID returns the id of the newest event, 0 when there is none.
	LastEventID(ctx context.Context) (int64, error)
	// PruneEvents deletes the events written before `before` and reports
	// how many; readers behind them then get ErrPruned.
	PruneEvents(ctx context.Context, before time.Time) (int, error)

	// CreateAdmin stores a console administrator. Returns ErrConflict if
	// the id or the name is taken.
	CreateAdmin(ctx context.Context, a gatehouse.Admin) error
	// GetAdmin returns an administrator by name. Returns ErrNotFound.
	GetAdmin(ctx context.Context, name string) (gatehouse.Admin, error)
	// GetAdminByID returns an administrator by id. Returns ErrNotFound.
	GetAdminByID(ctx context.Context, id string) (gatehouse.Admin, error)
	// ListAdmins returns every administrator, oldest first.
	ListAdmins(ctx context.Context) ([]gatehouse.Admin, error)
	// UpdateAdmin reads an administrator by id in a transaction, lets
	// update change it, and stores and returns the result (the id and name
	// are kept). If update returns an error nothing is written and that
	// error is returned. Returns ErrNotFound if there is no such
	// administrator. update follows the callback rules above.
	UpdateAdmin(ctx context.Context, id string, update func(*gatehouse.Admin) error) (gatehouse.Admin, error)

	// CreateAdminToken stores an administrator's admin API token. Returns
	// ErrNotFound if the administrator does not exist, ErrConflict if the
	// id is taken.
	CreateAdminToken(ctx context.Context, t gatehouse.AdminToken) error
	// GetAdminToken returns a token by id. Returns ErrNotFound.
	GetAdminToken(ctx context.Context, id string) (gatehouse.AdminToken, error)
	// ListAdminTokens returns an administrator's tokens, oldest first,
	// revoked and expired ones included.
	ListAdminTokens(ctx context.Context, adminID string) ([]gatehouse.AdminToken, error)
	// RevokeAdminToken marks a token of the administrator revoked at the
	// given time. Revoking a revoked token keeps its first revocation time.
	// Returns ErrNotFound if the administrator has no such token.
	RevokeAdminToken(ctx context.Context, adminID, id string, at time.Time) (gatehouse.AdminToken, error)
	// TouchAdminToken records that a token was used at the given time.
	// Returns ErrNotFound.
	TouchAdminToken(ctx context.Context, id string, at time.Time) error

	// CreateConsoleSession stores a console session. Returns ErrNotFound if
	// its administrator does not exist, ErrConflict if the id is taken.
	CreateConsoleSession(ctx context.Context, s gatehouse.ConsoleSession) error
	// GetConsoleSession returns a console session. Returns ErrNotFound.
	GetConsoleSession(ctx context.Context, id string) (gatehouse.ConsoleSession, error)
	// TouchConsoleSession sets a session's LastSeen. Returns ErrNotFound.
	TouchConsoleSession(ctx context.Context, id string, at time.Time) error
	// DeleteConsoleSession removes a session; removing a missing one is not
	// an error.
	DeleteConsoleSession(ctx context.Context, id string) error
	// DeleteAdminConsoleSessions removes every session of an administrator
	// and reports how many.
	DeleteAdminConsoleSessions(ctx context.Context, adminID string) (int, error)
	// PurgeConsoleSessions removes the sessions whose absolute end or
	// whose LastSeen is before the given times, and reports how many.
	PurgeConsoleSessions(ctx context.Context, expiredBefore, idleBefore time.Time) (int, error)

	// AppendAudit stores an audit entry and returns it with its ID, which
	// is greater than every ID returned before.
	AppendAudit(ctx context.Context, e gatehouse.AuditEntry) (gatehouse.AuditEntry, error)
	// ListAudit returns the entries matching f, newest (highest ID) first,
	// at most f.Limit (100 when 0). Action matches exactly, or as a prefix
	// when it ends in ".". Since is inclusive, Until exclusive.
	ListAudit(ctx context.Context, f gatehouse.AuditFilter) ([]gatehouse.AuditEntry, error)

	// SearchUsers returns an app's users whose public id or display name
	// contains query (case-insensitively for ASCII letters; all users when
	// query is empty), newest first, skipping offset and returning at most
	// limit, and the number of all matching users.
	SearchUsers(ctx context.Context, appID, query string, offset, limit int) ([]gatehouse.User, int, error)
	// CountLiveSessions counts the sessions neither revoked nor expired at
	// now, of one app or (appID "") of all.
	CountLiveSessions(ctx context.Context, appID string, now time.Time) (int, error)

	// Close releases the store. Writes acknowledged before Close are durable.
	Close() error
}

// LoginRecord is the input of Store.Login.
type LoginRecord struct {
	AppID  string
	UserID string // public id
	// NewUser is stored when the user does not exist yet (its ID is used).
	NewUser gatehouse.User
	// DisplayName, when set, replaces the display name.
	DisplayName *string
	DeviceID    string
	// Session is created when the device has no live session of this user.
	Session gatehouse.Session
	Now     time.Time
}

// LoginResult is the output of Store.Login.
type LoginResult struct {
	User    gatehouse.User
	Created bool // the user was created by this login
	Session gatehouse.Session
	// Replaced is a session of another user on the same device that this
	// login revoked, if any.
	Replaced *gatehouse.Session
}

// RevokedToken is a customer token revoked before its expiry.
type RevokedToken struct {
	AppID     string
	Hash      string
	ExpiresAt time.Time
}
