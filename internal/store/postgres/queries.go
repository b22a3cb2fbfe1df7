package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// list runs a whole-table or many-row read under listTimeout.
func list[T any](ctx context.Context, db *DB, scan func(pgx.Row) (T, error), q string, args ...any) ([]T, error) {
	ctx, cancel := bound(ctx, listTimeout)
	defer cancel()
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// one runs a single-row read under opTimeout.
func one[T any](ctx context.Context, db *DB, scan func(pgx.Row) (T, error), q string, args ...any) (T, error) {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	return scan(db.pool.QueryRow(ctx, q, args...))
}

// Apps.

const appCols = "id, name, secure_mode, access_ttl, auth_ttl, created_at, updated_at, token_issuer, token_audience, token_max_ttl, visitors, bots, allowed_origins"

func scanApp(r pgx.Row) (gatehouse.App, error) {
	var (
		a                    gatehouse.App
		access, auth, maxTTL int64
		created, updated     pgtype.Timestamptz
	)
	err := r.Scan(&a.ID, &a.Name, &a.SecureMode, &access, &auth, &created, &updated, &a.TokenIssuer, &a.TokenAudience, &maxTTL, &a.Visitors, &a.Bots, &a.Origins)
	a.AccessTTL, a.AuthTokenTTL, a.TokenMaxTTL = durMS(access), durMS(auth), durMS(maxTTL)
	a.CreatedAt, a.UpdatedAt = fromTS(created), fromTS(updated)
	return a, err
}

func (db *DB) CreateApp(ctx context.Context, a gatehouse.App) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO apps ("+appCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
			a.ID, a.Name, a.SecureMode, msOf(a.AccessTTL), msOf(a.AuthTokenTTL), ts(a.CreatedAt), ts(a.UpdatedAt),
			a.TokenIssuer, a.TokenAudience, msOf(a.TokenMaxTTL), visitorMode(a.Visitors), a.Bots, a.Origins)
		if isUnique(err) {
			return fmt.Errorf("app %s: %w", a.ID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventApp, App: &a})
	})
}

func (db *DB) GetApp(ctx context.Context, id string) (gatehouse.App, error) {
	a, err := one(ctx, db, scanApp, "SELECT "+appCols+" FROM apps WHERE id = $1", id)
	return a, notFound(err, "app "+id)
}

func (db *DB) ListApps(ctx context.Context) ([]gatehouse.App, error) {
	return list(ctx, db, scanApp, "SELECT "+appCols+" FROM apps ORDER BY created_at, id")
}

func (db *DB) UpdateApp(ctx context.Context, id string, update func(*gatehouse.App) error) (gatehouse.App, error) {
	var a gatehouse.App
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		a, err = scanApp(tx.QueryRow(ctx, "SELECT "+appCols+" FROM apps WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return notFound(err, "app "+id)
		}
		if err := update(&a); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, "UPDATE apps SET name = $1, secure_mode = $2, access_ttl = $3, auth_ttl = $4, updated_at = $5, token_issuer = $6, token_audience = $7, token_max_ttl = $8, visitors = $9, bots = $10, allowed_origins = $11 WHERE id = $12",
			a.Name, a.SecureMode, msOf(a.AccessTTL), msOf(a.AuthTokenTTL), ts(a.UpdatedAt), a.TokenIssuer, a.TokenAudience, msOf(a.TokenMaxTTL),
			visitorMode(a.Visitors), a.Bots, a.Origins, id); err != nil {
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventApp, App: &a})
	})
	return a, err
}

// Keys.

const keyCols = "id, app_id, kind, name, hash, created_at, revoked_at"

func scanKey(r pgx.Row) (gatehouse.Key, error) {
	var (
		k                gatehouse.Key
		created, revoked pgtype.Timestamptz
	)
	err := r.Scan(&k.ID, &k.AppID, &k.Kind, &k.Name, &k.Hash, &created, &revoked)
	k.CreatedAt, k.RevokedAt = fromTS(created), fromTS(revoked)
	return k, err
}

func (db *DB) CreateKey(ctx context.Context, k gatehouse.Key) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO keys ("+keyCols+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
			k.ID, k.AppID, k.Kind, k.Name, k.Hash, ts(k.CreatedAt), ts(k.RevokedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("key %s: %w", k.ID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("app %s: %w", k.AppID, store.ErrNotFound)
		case err != nil:
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventKey, Key: &k})
	})
}

func (db *DB) ListKeys(ctx context.Context, appID string, kind gatehouse.KeyKind) ([]gatehouse.Key, error) {
	return list(ctx, db, scanKey, "SELECT "+keyCols+" FROM keys WHERE app_id = $1 AND kind = $2 ORDER BY created_at, id", appID, kind)
}

func (db *DB) AllActiveKeys(ctx context.Context) ([]gatehouse.Key, error) {
	return list(ctx, db, scanKey, "SELECT "+keyCols+" FROM keys WHERE revoked_at IS NULL ORDER BY created_at, id")
}

func (db *DB) RevokeKey(ctx context.Context, appID string, kind gatehouse.KeyKind, keyID string, at time.Time) (gatehouse.Key, error) {
	var k gatehouse.Key
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		// COALESCE keeps the first revocation time.
		k, err = scanKey(tx.QueryRow(ctx, "UPDATE keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND app_id = $3 AND kind = $4 RETURNING "+keyCols,
			ts(at), keyID, appID, kind))
		if err != nil {
			return notFound(err, "key "+keyID)
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventKey, Key: &k})
	})
	return k, err
}

// Users.

const userCols = "id, app_id, user_id, display_name, banned, deleted, created_at, updated_at, deleted_at, tokens_valid_after, type"

func scanUser(r pgx.Row) (gatehouse.User, error) {
	var (
		u                                    gatehouse.User
		created, updated, deleted, validAftr pgtype.Timestamptz
	)
	err := r.Scan(&u.ID, &u.AppID, &u.UserID, &u.DisplayName, &u.Banned, &u.Deleted, &created, &updated, &deleted, &validAftr, &u.Type)
	u.CreatedAt, u.UpdatedAt, u.DeletedAt, u.TokensValidAfter = fromTS(created), fromTS(updated), fromTS(deleted), fromTS(validAftr)
	return u, err
}

func (db *DB) GetUser(ctx context.Context, appID, userID string) (gatehouse.User, error) {
	u, err := one(ctx, db, scanUser, "SELECT "+userCols+" FROM users WHERE app_id = $1 AND user_id = $2", appID, userID)
	return u, notFound(err, "user "+userID)
}

func (db *DB) ListRestrictedUsers(ctx context.Context) ([]gatehouse.User, error) {
	return list(ctx, db, scanUser, "SELECT "+userCols+" FROM users WHERE banned OR deleted OR tokens_valid_after IS NOT NULL")
}

// insertUser inserts u unless a user with its public id exists, and
// reports whether it did. It fails with ErrNotFound if the app does not
// exist.
func insertUser(ctx context.Context, q querier, u *gatehouse.User) (bool, error) {
	tag, err := q.Exec(ctx, "INSERT INTO users ("+userCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (app_id, user_id) DO NOTHING",
		u.ID, u.AppID, u.UserID, u.DisplayName, u.Banned, u.Deleted, ts(u.CreatedAt), ts(u.UpdatedAt), ts(u.DeletedAt), ts(u.TokensValidAfter), userType(u.Type))
	switch {
	case isForeignKey(err):
		return false, fmt.Errorf("app %s: %w", u.AppID, store.ErrNotFound)
	case isUnique(err):
		// The internal id is taken (the public one is handled above).
		return false, fmt.Errorf("user %s: %w", u.UserID, store.ErrConflict)
	case err != nil:
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

const updateUserSQL = "UPDATE users SET display_name = $1, banned = $2, deleted = $3, updated_at = $4, deleted_at = $5, tokens_valid_after = $6 WHERE id = $7"

func updateUserArgs(u *gatehouse.User) []any {
	return []any{u.DisplayName, u.Banned, u.Deleted, ts(u.UpdatedAt), ts(u.DeletedAt), ts(u.TokensValidAfter), u.ID}
}

func updateUser(ctx context.Context, q querier, u *gatehouse.User) error {
	_, err := q.Exec(ctx, updateUserSQL, updateUserArgs(u)...)
	return err
}

const lockUser = "SELECT " + userCols + " FROM users WHERE app_id = $1 AND user_id = $2 FOR UPDATE"

func (db *DB) UpdateUser(ctx context.Context, appID, userID string, update func(*gatehouse.User) error, revokeSessions bool) (gatehouse.User, []gatehouse.Session, error) {
	var (
		u       gatehouse.User
		revoked []gatehouse.Session
	)
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		revoked = nil
		u, err = scanUser(tx.QueryRow(ctx, lockUser, appID, userID))
		if err != nil {
			return notFound(err, "user "+userID)
		}
		before := u
		if err := update(&u); err != nil {
			return err
		}
		if err := updateUser(ctx, tx, &u); err != nil {
			return err
		}
		if revokeSessions {
			if revoked, err = revokeUserSessions(ctx, tx, appID, u.ID, u.UpdatedAt); err != nil {
				return err
			}
		}
		return appendEvent(ctx, tx, store.UserEvent(before, u, revoked))
	})
	return u, revoked, err
}

func (db *DB) GetOrCreateUser(ctx context.Context, u gatehouse.User) (gatehouse.User, error) {
	out := u
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		out = u
		inserted, err := insertUser(ctx, tx, &out)
		if err != nil || inserted {
			return err
		}
		out, err = scanUser(tx.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE app_id = $1 AND user_id = $2", u.AppID, u.UserID))
		return err
	})
	return out, err
}

// Sessions.

const sessionCols = "id, app_id, user_internal_id, device_id, device_info, created_at, last_login_at, expires_at, revoked_at"

func scanSession(r pgx.Row) (gatehouse.Session, error) {
	var (
		x                           gatehouse.Session
		info                        []byte
		created, last, exp, revoked pgtype.Timestamptz
	)
	if err := r.Scan(&x.ID, &x.AppID, &x.UserInternalID, &x.DeviceID, &info, &created, &last, &exp, &revoked); err != nil {
		return x, err
	}
	x.CreatedAt, x.LastLoginAt, x.ExpiresAt, x.RevokedAt = fromTS(created), fromTS(last), fromTS(exp), fromTS(revoked)
	if err := json.Unmarshal([]byte(info), &x.DeviceInfo); err != nil {
		return x, fmt.Errorf("session %s device info: %w", x.ID, err)
	}
	return x, nil
}

func deviceJSON(d gatehouse.DeviceInfo) string {
	b, _ := json.Marshal(d)
	return string(b)
}

// deviceLockClass is the first key of the transaction-scoped advisory lock
// a login takes on its device (the second is a hash of app and device), so
// that logins racing on one device, on any node, run one after the other.
const deviceLockClass = 0x6764 // "gd"

// Login runs in two round trips when the user exists: BEGIN, the device
// lock and both reads in one pipelined batch; the writes and COMMIT in a
// second. A round trip to the database, not the database's work, is what a
// login mostly waits for.
func (db *DB) Login(ctx context.Context, l store.LoginRecord, check func(u *gatehouse.User, existed bool) error) (store.LoginResult, error) {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	var (
		res store.LoginResult
		err error
	)
	for range maxAttempts {
		res, err = db.login(ctx, l, check)
		if !retryable(err) {
			break
		}
	}
	return res, err
}

func (db *DB) login(ctx context.Context, l store.LoginRecord, check func(u *gatehouse.User, existed bool) error) (res store.LoginResult, err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	committed := false
	defer func() {
		if !committed {
			// End the transaction, or the aborted one. A broken
			// connection fails here too, and Release drops it.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
	}()

	// Lock order, everywhere: device, then user, then sessions.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT pg_advisory_xact_lock($1, hashtext($2 || '/' || $3))", deviceLockClass, l.AppID, l.DeviceID)
	b.Queue(lockUser, l.AppID, l.UserID)
	b.Queue("SELECT "+sessionCols+" FROM sessions WHERE app_id = $1 AND device_id = $2 AND revoked_at IS NULL FOR UPDATE", l.AppID, l.DeviceID)
	br := conn.SendBatch(ctx, b)
	_, errBegin := br.Exec()
	_, errLock := br.Exec()
	u, errUser := scanUser(br.QueryRow())
	c, errSess := scanSession(br.QueryRow())
	if err := errors.Join(errBegin, errLock, br.Close()); err != nil {
		return res, err
	}
	var cur *gatehouse.Session
	switch {
	case errSess == nil:
		cur = &c
	case !errors.Is(errSess, pgx.ErrNoRows):
		return res, errSess
	}

	existed := errUser == nil
	switch {
	case errors.Is(errUser, pgx.ErrNoRows):
		u = l.NewUser
		if err := check(&u, false); err != nil {
			return res, err
		}
		if l.DisplayName != nil {
			u.DisplayName = *l.DisplayName
		}
		inserted, err := insertUser(ctx, conn, &u)
		if err != nil {
			return res, err
		}
		if !inserted {
			// A login on another connection created the user first:
			// continue as a returning user's login (check runs again, on
			// the stored user).
			if u, err = scanUser(conn.QueryRow(ctx, lockUser, l.AppID, l.UserID)); err != nil {
				return res, err
			}
			existed = true
		}
	case errUser != nil:
		return res, errUser
	}

	w := &pgx.Batch{}
	if existed {
		if err := check(&u, true); err != nil {
			return res, err
		}
		if l.DisplayName != nil {
			u.DisplayName, u.UpdatedAt = *l.DisplayName, l.Now
			w.Queue(updateUserSQL, updateUserArgs(&u)...)
		}
	}
	res.User, res.Created = u, !existed

	next := l.Session
	next.UserInternalID, next.AppID, next.DeviceID = u.ID, l.AppID, l.DeviceID
	claim := gatehouse.ClaimDevice(cur, next, l.Now)
	res.Session, res.Replaced = claim.Session, claim.Replaced
	if r := claim.Replaced; r != nil {
		w.Queue("UPDATE sessions SET revoked_at = $1 WHERE id = $2", ts(r.RevokedAt), r.ID)
	}
	s := claim.Session
	if claim.Extended {
		w.Queue("UPDATE sessions SET last_login_at = $1, expires_at = $2, device_info = $3 WHERE id = $4",
			ts(s.LastLoginAt), ts(s.ExpiresAt), deviceJSON(s.DeviceInfo), s.ID)
	} else {
		w.Queue("INSERT INTO sessions ("+sessionCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			s.ID, s.AppID, s.UserInternalID, s.DeviceID, deviceJSON(s.DeviceInfo), ts(s.CreatedAt), ts(s.LastLoginAt), ts(s.ExpiresAt), ts(s.RevokedAt))
	}
	if claim.Replaced != nil {
		// Last before COMMIT, as appendEvent requires.
		queueEvent(w, store.SessionsEvent([]gatehouse.Session{*claim.Replaced}))
	}
	w.Queue("COMMIT")
	wr := conn.SendBatch(ctx, w)
	var tag pgconn.CommandTag
	for range w.Len() {
		if tag, err = wr.Exec(); err != nil {
			break
		}
	}
	if err := errors.Join(err, wr.Close()); err != nil {
		if isUnique(err) {
			return res, fmt.Errorf("session %s: %w", s.ID, store.ErrConflict)
		}
		return res, err
	}
	if tag.String() != "COMMIT" {
		return res, fmt.Errorf("login transaction ended with %q", tag.String())
	}
	if claim.Replaced != nil {
		db.announce()
	}
	committed = true
	return res, nil
}

func (db *DB) GetSession(ctx context.Context, appID, id string) (gatehouse.Session, error) {
	s, err := one(ctx, db, scanSession, "SELECT "+sessionCols+" FROM sessions WHERE app_id = $1 AND id = $2", appID, id)
	return s, notFound(err, "session "+id)
}

func (db *DB) ListSessions(ctx context.Context, appID, userInternalID string, since time.Time) ([]gatehouse.Session, error) {
	return list(ctx, db, scanSession, "SELECT "+sessionCols+" FROM sessions WHERE app_id = $1 AND user_internal_id = $2 AND (revoked_at IS NULL OR revoked_at >= $3) AND expires_at >= $3 ORDER BY last_login_at DESC, id",
		appID, userInternalID, ts(since))
}

func (db *DB) RevokeSession(ctx context.Context, appID, id string, at time.Time) (gatehouse.Session, error) {
	var s gatehouse.Session
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		// COALESCE keeps the first revocation time.
		s, err = scanSession(tx.QueryRow(ctx, "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE app_id = $2 AND id = $3 RETURNING "+sessionCols, ts(at), appID, id))
		if err != nil {
			return notFound(err, "session "+id)
		}
		return appendEvent(ctx, tx, store.SessionsEvent([]gatehouse.Session{s}))
	})
	return s, err
}

func revokeUserSessions(ctx context.Context, q querier, appID, userInternalID string, at time.Time) ([]gatehouse.Session, error) {
	rows, err := q.Query(ctx, "UPDATE sessions SET revoked_at = $1 WHERE app_id = $2 AND user_internal_id = $3 AND revoked_at IS NULL RETURNING "+sessionCols, ts(at), appID, userInternalID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSession)
}

func (db *DB) RevokeUserSessions(ctx context.Context, appID, userInternalID string, at time.Time) ([]gatehouse.Session, error) {
	var out []gatehouse.Session
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = revokeUserSessions(ctx, tx, appID, userInternalID, at)
		if err != nil || len(out) == 0 {
			return err
		}
		return appendEvent(ctx, tx, store.SessionsEvent(out))
	})
	return out, err
}

func (db *DB) ListRevokedSessions(ctx context.Context, now time.Time) ([]gatehouse.Session, error) {
	return list(ctx, db, scanSession, "SELECT "+sessionCols+" FROM sessions WHERE revoked_at IS NOT NULL AND expires_at > $1", ts(now))
}

func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	ctx, cancel := bound(ctx, listTimeout)
	defer cancel()
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM sessions WHERE expires_at < $1", ts(before))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, "DELETE FROM revoked_tokens WHERE expires_at < $1", ts(before))
		return err
	})
	return int(n), err
}

// Signing keys and secrets.

func scanSigningKey(r pgx.Row) (token.SigningKey, error) {
	var (
		k                token.SigningKey
		created, retired pgtype.Timestamptz
	)
	err := r.Scan(&k.ID, &k.Seed, &created, &retired)
	k.CreatedAt, k.RetiredAt = fromTS(created), fromTS(retired)
	return k, err
}

func (db *DB) SigningKeys(ctx context.Context) ([]token.SigningKey, error) {
	return list(ctx, db, scanSigningKey, "SELECT id, seed, created_at, retired_at FROM signing_keys ORDER BY created_at, id")
}

func (db *DB) AddSigningKey(ctx context.Context, k token.SigningKey) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO signing_keys (id, seed, created_at, retired_at) VALUES ($1, $2, $3, $4)", k.ID, k.Seed, ts(k.CreatedAt), ts(k.RetiredAt))
		if isUnique(err) {
			return fmt.Errorf("signing key %s: %w", k.ID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventSigningKeys})
	})
}

func (db *DB) RotateSigningKey(ctx context.Context, k token.SigningKey, dropOld bool) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if dropOld {
			_, err = tx.Exec(ctx, "DELETE FROM signing_keys")
		} else {
			_, err = tx.Exec(ctx, "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL", ts(k.CreatedAt))
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO signing_keys (id, seed, created_at) VALUES ($1, $2, $3)", k.ID, k.Seed, ts(k.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("signing key %s: %w", k.ID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventSigningKeys, Emergency: dropOld})
	})
}

func scanBytes(r pgx.Row) ([]byte, error) {
	var v []byte
	err := r.Scan(&v)
	return v, err
}

func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	v, err := one(ctx, db, scanBytes, "SELECT value FROM secrets WHERE name = $1", name)
	return v, notFound(err, "secret "+name)
}

func (db *DB) PutSecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error) {
	var v []byte
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, value); err != nil {
			return err
		}
		var err error
		v, err = scanBytes(tx.QueryRow(ctx, "SELECT value FROM secrets WHERE name = $1", name))
		return err
	})
	return v, err
}

func (db *DB) SetSecret(ctx context.Context, name string, value []byte) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value); err != nil {
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventSecret, Name: name})
	})
}

// Verification keys.

const vkeyCols = "id, app_id, alg, kind, material, jwks_url, created_at"

func scanVKey(r pgx.Row) (gatehouse.VerificationKey, error) {
	var (
		k       gatehouse.VerificationKey
		created pgtype.Timestamptz
	)
	err := r.Scan(&k.ID, &k.AppID, &k.Alg, &k.Kind, &k.Material, &k.JWKSURL, &created)
	k.CreatedAt = fromTS(created)
	return k, err
}

func (db *DB) CreateVerificationKey(ctx context.Context, k gatehouse.VerificationKey) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		material := k.Material
		if material == nil {
			material = []byte{}
		}
		_, err := tx.Exec(ctx, "INSERT INTO verification_keys ("+vkeyCols+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
			k.ID, k.AppID, k.Alg, k.Kind, material, k.JWKSURL, ts(k.CreatedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("verification key %s: %w", k.ID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("app %s: %w", k.AppID, store.ErrNotFound)
		case err != nil:
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventVerificationKey, VerificationKey: &k})
	})
}

func (db *DB) ListVerificationKeys(ctx context.Context, appID string) ([]gatehouse.VerificationKey, error) {
	return list(ctx, db, scanVKey, "SELECT "+vkeyCols+" FROM verification_keys WHERE app_id = $1 ORDER BY created_at, id", appID)
}

func (db *DB) AllVerificationKeys(ctx context.Context) ([]gatehouse.VerificationKey, error) {
	return list(ctx, db, scanVKey, "SELECT "+vkeyCols+" FROM verification_keys ORDER BY created_at, id")
}

func (db *DB) DeleteVerificationKey(ctx context.Context, appID, id string) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM verification_keys WHERE app_id = $1 AND id = $2", appID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("verification key %s: %w", id, store.ErrNotFound)
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventVerificationKey, AppID: appID, KeyID: id, Removed: true})
	})
}

// Revoked customer tokens.

func (db *DB) RevokeToken(ctx context.Context, t store.RevokedToken) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO revoked_tokens (app_id, token_hash, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
			t.AppID, t.Hash, ts(t.ExpiresAt)); err != nil {
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventToken, Token: &t})
	})
}

func (db *DB) ListRevokedTokens(ctx context.Context, now time.Time) ([]store.RevokedToken, error) {
	return list(ctx, db, func(r pgx.Row) (store.RevokedToken, error) {
		var (
			t   store.RevokedToken
			exp pgtype.Timestamptz
		)
		err := r.Scan(&t.AppID, &t.Hash, &exp)
		t.ExpiresAt = fromTS(exp)
		return t, err
	}, "SELECT app_id, token_hash, expires_at FROM revoked_tokens WHERE expires_at > $1", ts(now))
}

// visitorMode stores the zero mode as off.
func visitorMode(m gatehouse.VisitorMode) string {
	if m == "" {
		return string(gatehouse.VisitorsOff)
	}
	return string(m)
}

// userType stores the zero type as signed-in.
func userType(t gatehouse.UserType) string { return string(t.OrSignedIn()) }

// Visitor secrets.

const vsecretCols = "id, app_id, sealed, created_at"

func scanVSecret(r pgx.Row) (gatehouse.VisitorSecret, error) {
	var (
		v       gatehouse.VisitorSecret
		created pgtype.Timestamptz
	)
	err := r.Scan(&v.ID, &v.AppID, &v.Sealed, &created)
	v.CreatedAt = fromTS(created)
	return v, err
}

func (db *DB) AddVisitorSecret(ctx context.Context, v gatehouse.VisitorSecret, keep int) ([]gatehouse.VisitorSecret, error) {
	var dropped []gatehouse.VisitorSecret
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		dropped = nil
		_, err := tx.Exec(ctx, "INSERT INTO visitor_secrets ("+vsecretCols+") VALUES ($1, $2, $3, $4)", v.ID, v.AppID, v.Sealed, ts(v.CreatedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("visitor secret %s: %w", v.ID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("app %s: %w", v.AppID, store.ErrNotFound)
		case err != nil:
			return err
		}
		rows, err := tx.Query(ctx, "DELETE FROM visitor_secrets WHERE app_id = $1 AND id NOT IN (SELECT id FROM visitor_secrets WHERE app_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) RETURNING "+vsecretCols,
			v.AppID, keep)
		if err != nil {
			return err
		}
		if dropped, err = collect(rows, scanVSecret); err != nil {
			return err
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventVisitorSecrets, AppID: v.AppID})
	})
	return dropped, err
}

func (db *DB) ListVisitorSecrets(ctx context.Context, appID string) ([]gatehouse.VisitorSecret, error) {
	return list(ctx, db, scanVSecret, "SELECT "+vsecretCols+" FROM visitor_secrets WHERE app_id = $1 ORDER BY created_at, id", appID)
}

func (db *DB) AllVisitorSecrets(ctx context.Context) ([]gatehouse.VisitorSecret, error) {
	return list(ctx, db, scanVSecret, "SELECT "+vsecretCols+" FROM visitor_secrets ORDER BY created_at, id")
}

func (db *DB) DeleteVisitorSecret(ctx context.Context, appID, id string) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM visitor_secrets WHERE app_id = $1 AND id = $2", appID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("visitor secret %s: %w", id, store.ErrNotFound)
		}
		return appendEvent(ctx, tx, store.Event{Kind: store.EventVisitorSecrets, AppID: appID})
	})
}

// Visitor upkeep.

func (db *DB) PurgeVisitors(ctx context.Context, types []gatehouse.UserType, before time.Time) ([]gatehouse.User, error) {
	var out []gatehouse.User
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		for _, t := range types {
			// Sessions first (they reference the user); deleting them does
			// not change which users qualify.
			const cond = "type = $1 AND NOT banned AND NOT deleted AND created_at < $2" +
				" AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_internal_id = users.id AND s.expires_at >= $2)"
			if _, err := tx.Exec(ctx, "DELETE FROM sessions WHERE user_internal_id IN (SELECT id FROM users WHERE "+cond+")", userType(t), ts(before)); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "DELETE FROM users WHERE "+cond+" RETURNING "+userCols, userType(t), ts(before))
			if err != nil {
				return err
			}
			users, err := collect(rows, scanUser)
			if err != nil {
				return err
			}
			out = append(out, users...)
		}
		return nil
	})
	return out, err
}

func (db *DB) CountUsers(ctx context.Context, t gatehouse.UserType) (int, error) {
	return one(ctx, db, func(r pgx.Row) (int, error) {
		var n int
		err := r.Scan(&n)
		return n, err
	}, "SELECT count(*) FROM users WHERE type = $1 AND NOT deleted", userType(t))
}
