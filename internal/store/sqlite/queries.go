package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

type scanner interface{ Scan(dest ...any) error }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// Apps.

const appCols = "id, name, secure_mode, access_ttl, auth_ttl, created_at, updated_at, token_issuer, token_audience, token_max_ttl, visitors, bots, allowed_origins"

func scanApp(s scanner) (gatehouse.App, error) {
	var a gatehouse.App
	var access, auth, created, updated, maxTTL int64
	err := s.Scan(&a.ID, &a.Name, &a.SecureMode, &access, &auth, &created, &updated, &a.TokenIssuer, &a.TokenAudience, &maxTTL, &a.Visitors, &a.Bots, &a.Origins)
	a.AccessTTL, a.AuthTokenTTL = time.Duration(access)*time.Millisecond, time.Duration(auth)*time.Millisecond
	a.TokenMaxTTL = time.Duration(maxTTL) * time.Millisecond
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	return a, err
}

func (db *DB) CreateApp(ctx context.Context, a gatehouse.App) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "INSERT INTO apps ("+appCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.ID, a.Name, a.SecureMode, a.AccessTTL.Milliseconds(), a.AuthTokenTTL.Milliseconds(), ms(a.CreatedAt), ms(a.UpdatedAt),
			a.TokenIssuer, a.TokenAudience, a.TokenMaxTTL.Milliseconds(), visitorMode(a.Visitors), a.Bots, a.Origins)
		if isUnique(err) {
			return fmt.Errorf("app %s: %w", a.ID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventApp, App: &a})
	})
}

func (db *DB) GetApp(ctx context.Context, id string) (gatehouse.App, error) {
	a, err := scanApp(db.readRow(ctx, "SELECT "+appCols+" FROM apps WHERE id = ?", id))
	return a, notFound(err, "app "+id)
}

func (db *DB) ListApps(ctx context.Context) ([]gatehouse.App, error) {
	rows, err := db.readQuery(ctx, "SELECT "+appCols+" FROM apps ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanApp)
}

func (db *DB) UpdateApp(ctx context.Context, id string, update func(*gatehouse.App) error) (gatehouse.App, error) {
	var a gatehouse.App
	err := db.exec(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanApp(db.txQueryRow(ctx, tx, "SELECT "+appCols+" FROM apps WHERE id = ?", id))
		if err != nil {
			return notFound(err, "app "+id)
		}
		if err := update(&a); err != nil {
			return err
		}
		if _, err = db.txExec(ctx, tx, "UPDATE apps SET name = ?, secure_mode = ?, access_ttl = ?, auth_ttl = ?, updated_at = ?, token_issuer = ?, token_audience = ?, token_max_ttl = ?, visitors = ?, bots = ?, allowed_origins = ? WHERE id = ?",
			a.Name, a.SecureMode, a.AccessTTL.Milliseconds(), a.AuthTokenTTL.Milliseconds(), ms(a.UpdatedAt), a.TokenIssuer, a.TokenAudience, a.TokenMaxTTL.Milliseconds(),
			visitorMode(a.Visitors), a.Bots, a.Origins, id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventApp, App: &a})
	})
	return a, err
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

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
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

// Keys.

const keyCols = "id, app_id, kind, name, hash, created_at, revoked_at"

func scanKey(s scanner) (gatehouse.Key, error) {
	var k gatehouse.Key
	var created, revoked int64
	err := s.Scan(&k.ID, &k.AppID, &k.Kind, &k.Name, &k.Hash, &created, &revoked)
	k.CreatedAt, k.RevokedAt = fromMS(created), fromMS(revoked)
	return k, err
}

func (db *DB) CreateKey(ctx context.Context, k gatehouse.Key) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "INSERT INTO keys ("+keyCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			k.ID, k.AppID, k.Kind, k.Name, k.Hash, ms(k.CreatedAt), ms(k.RevokedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("key %s: %w", k.ID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("app %s: %w", k.AppID, store.ErrNotFound)
		case err != nil:
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventKey, Key: &k})
	})
}

func (db *DB) ListKeys(ctx context.Context, appID string, kind gatehouse.KeyKind) ([]gatehouse.Key, error) {
	rows, err := db.readQuery(ctx, "SELECT "+keyCols+" FROM keys WHERE app_id = ? AND kind = ? ORDER BY created_at, id", appID, kind)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanKey)
}

func (db *DB) AllActiveKeys(ctx context.Context) ([]gatehouse.Key, error) {
	rows, err := db.readQuery(ctx, "SELECT "+keyCols+" FROM keys WHERE revoked_at = 0 ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanKey)
}

func (db *DB) RevokeKey(ctx context.Context, appID string, kind gatehouse.KeyKind, keyID string, at time.Time) (gatehouse.Key, error) {
	var k gatehouse.Key
	err := db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, "UPDATE keys SET revoked_at = ? WHERE id = ? AND app_id = ? AND kind = ? AND revoked_at = 0", ms(at), keyID, appID, kind); err != nil {
			return err
		}
		var err error
		k, err = scanKey(db.txQueryRow(ctx, tx, "SELECT "+keyCols+" FROM keys WHERE id = ? AND app_id = ? AND kind = ?", keyID, appID, kind))
		if err != nil {
			return notFound(err, "key "+keyID)
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventKey, Key: &k})
	})
	return k, err
}

// Users.

const userCols = "id, app_id, user_id, display_name, banned, deleted, created_at, updated_at, deleted_at, tokens_valid_after, type"

func scanUser(s scanner) (gatehouse.User, error) {
	var u gatehouse.User
	var created, updated, deleted, validAfter int64
	err := s.Scan(&u.ID, &u.AppID, &u.UserID, &u.DisplayName, &u.Banned, &u.Deleted, &created, &updated, &deleted, &validAfter, &u.Type)
	u.CreatedAt, u.UpdatedAt, u.DeletedAt, u.TokensValidAfter = fromMS(created), fromMS(updated), fromMS(deleted), fromMS(validAfter)
	return u, err
}

func (db *DB) GetUser(ctx context.Context, appID, userID string) (gatehouse.User, error) {
	u, err := scanUser(db.readRow(ctx, "SELECT "+userCols+" FROM users WHERE app_id = ? AND user_id = ?", appID, userID))
	return u, notFound(err, "user "+userID)
}

func (db *DB) ListRestrictedUsers(ctx context.Context) ([]gatehouse.User, error) {
	// NOT INDEXED, as in ListRevokedSessions: users_restricted cannot hide a ban.
	rows, err := db.readQuery(ctx, "SELECT "+userCols+" FROM users NOT INDEXED WHERE banned = 1 OR deleted = 1 OR tokens_valid_after <> 0")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

func (db *DB) putUser(ctx context.Context, tx *sql.Tx, u *gatehouse.User, insert bool) error {
	if insert {
		_, err := db.txExec(ctx, tx, "INSERT INTO users ("+userCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			u.ID, u.AppID, u.UserID, u.DisplayName, u.Banned, u.Deleted, ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.DeletedAt), ms(u.TokensValidAfter), userType(u.Type))
		switch {
		case isUnique(err):
			return fmt.Errorf("user %s: %w", u.UserID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("app %s: %w", u.AppID, store.ErrNotFound)
		}
		return err
	}
	_, err := db.txExec(ctx, tx, "UPDATE users SET display_name = ?, banned = ?, deleted = ?, updated_at = ?, deleted_at = ?, tokens_valid_after = ? WHERE id = ?",
		u.DisplayName, u.Banned, u.Deleted, ms(u.UpdatedAt), ms(u.DeletedAt), ms(u.TokensValidAfter), u.ID)
	return err
}

func (db *DB) UpdateUser(ctx context.Context, appID, userID string, update func(*gatehouse.User) error, revokeSessions bool) (gatehouse.User, []gatehouse.Session, error) {
	var (
		u       gatehouse.User
		revoked []gatehouse.Session
	)
	err := db.exec(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(db.txQueryRow(ctx, tx, "SELECT "+userCols+" FROM users WHERE app_id = ? AND user_id = ?", appID, userID))
		if err != nil {
			return notFound(err, "user "+userID)
		}
		before := u
		if err := update(&u); err != nil {
			return err
		}
		if err := db.putUser(ctx, tx, &u, false); err != nil {
			return err
		}
		if revokeSessions {
			if revoked, err = db.revokeUserSessions(ctx, tx, appID, u.ID, u.UpdatedAt); err != nil {
				return err
			}
		}
		return db.appendEvent(ctx, tx, store.UserEvent(before, u, revoked))
	})
	return u, revoked, err
}

// Sessions.

const sessionCols = "id, app_id, user_internal_id, device_id, device_info, created_at, last_login_at, expires_at, revoked_at"

func scanSession(s scanner) (gatehouse.Session, error) {
	var x gatehouse.Session
	var info string
	var created, last, exp, revoked int64
	err := s.Scan(&x.ID, &x.AppID, &x.UserInternalID, &x.DeviceID, &info, &created, &last, &exp, &revoked)
	if err != nil {
		return x, err
	}
	x.CreatedAt, x.LastLoginAt, x.ExpiresAt, x.RevokedAt = fromMS(created), fromMS(last), fromMS(exp), fromMS(revoked)
	if info != "" {
		if err := json.Unmarshal([]byte(info), &x.DeviceInfo); err != nil {
			return x, fmt.Errorf("session %s device info: %w", x.ID, err)
		}
	}
	return x, nil
}

func deviceJSON(d gatehouse.DeviceInfo) string {
	b, _ := json.Marshal(d)
	return string(b)
}

func (db *DB) Login(ctx context.Context, l store.LoginRecord, check func(u *gatehouse.User, existed bool) error) (store.LoginResult, error) {
	var res store.LoginResult
	err := db.exec(ctx, func(tx *sql.Tx) error {
		res = store.LoginResult{}
		u, err := scanUser(db.txQueryRow(ctx, tx, "SELECT "+userCols+" FROM users WHERE app_id = ? AND user_id = ?", l.AppID, l.UserID))
		existed := err == nil
		switch {
		case errors.Is(err, sql.ErrNoRows):
			u = l.NewUser
		case err != nil:
			return err
		}
		if err := check(&u, existed); err != nil {
			return err
		}
		if !existed || l.DisplayName != nil {
			if l.DisplayName != nil {
				u.DisplayName = *l.DisplayName
			}
			if existed {
				u.UpdatedAt = l.Now
			}
			if err := db.putUser(ctx, tx, &u, !existed); err != nil {
				return err
			}
		}
		res.User, res.Created = u, !existed

		var cur *gatehouse.Session
		switch c, err := scanSession(db.txQueryRow(ctx, tx, "SELECT "+sessionCols+" FROM sessions WHERE app_id = ? AND device_id = ? AND revoked_at = 0", l.AppID, l.DeviceID)); {
		case err == nil:
			cur = &c
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		next := l.Session
		next.UserInternalID, next.AppID, next.DeviceID = u.ID, l.AppID, l.DeviceID
		claim := gatehouse.ClaimDevice(cur, next, l.Now)
		if r := claim.Replaced; r != nil {
			if _, err := db.txExec(ctx, tx, "UPDATE sessions SET revoked_at = ? WHERE id = ?", ms(r.RevokedAt), r.ID); err != nil {
				return err
			}
			if err := db.appendEvent(ctx, tx, store.SessionsEvent([]gatehouse.Session{*r})); err != nil {
				return err
			}
		}
		res.Session, res.Replaced = claim.Session, claim.Replaced
		s := claim.Session
		if claim.Extended {
			_, err = db.txExec(ctx, tx, "UPDATE sessions SET last_login_at = ?, expires_at = ?, device_info = ? WHERE id = ?",
				ms(s.LastLoginAt), ms(s.ExpiresAt), deviceJSON(s.DeviceInfo), s.ID)
			return err
		}
		_, err = db.txExec(ctx, tx, "INSERT INTO sessions ("+sessionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			s.ID, s.AppID, s.UserInternalID, s.DeviceID, deviceJSON(s.DeviceInfo), ms(s.CreatedAt), ms(s.LastLoginAt), ms(s.ExpiresAt), ms(s.RevokedAt))
		if isUnique(err) {
			return fmt.Errorf("session %s: %w", s.ID, store.ErrConflict)
		}
		return err
	})
	return res, err
}

func (db *DB) GetSession(ctx context.Context, appID, id string) (gatehouse.Session, error) {
	s, err := scanSession(db.readRow(ctx, "SELECT "+sessionCols+" FROM sessions WHERE app_id = ? AND id = ?", appID, id))
	return s, notFound(err, "session "+id)
}

func (db *DB) ListSessions(ctx context.Context, appID, userInternalID string, since time.Time) ([]gatehouse.Session, error) {
	rows, err := db.readQuery(ctx, "SELECT "+sessionCols+" FROM sessions WHERE app_id = ? AND user_internal_id = ? AND (revoked_at = 0 OR revoked_at >= ?) AND expires_at >= ? ORDER BY last_login_at DESC, id",
		appID, userInternalID, ms(since), ms(since))
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSession)
}

func (db *DB) RevokeSession(ctx context.Context, appID, id string, at time.Time) (gatehouse.Session, error) {
	var s gatehouse.Session
	err := db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, "UPDATE sessions SET revoked_at = ? WHERE app_id = ? AND id = ? AND revoked_at = 0", ms(at), appID, id); err != nil {
			return err
		}
		var err error
		s, err = scanSession(db.txQueryRow(ctx, tx, "SELECT "+sessionCols+" FROM sessions WHERE app_id = ? AND id = ?", appID, id))
		if err != nil {
			return notFound(err, "session "+id)
		}
		return db.appendEvent(ctx, tx, store.SessionsEvent([]gatehouse.Session{s}))
	})
	return s, err
}

func (db *DB) revokeUserSessions(ctx context.Context, tx *sql.Tx, appID, userInternalID string, at time.Time) ([]gatehouse.Session, error) {
	rows, err := db.txQuery(ctx, tx, "UPDATE sessions SET revoked_at = ? WHERE app_id = ? AND user_internal_id = ? AND revoked_at = 0 RETURNING "+sessionCols, ms(at), appID, userInternalID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSession)
}

func (db *DB) RevokeUserSessions(ctx context.Context, appID, userInternalID string, at time.Time) ([]gatehouse.Session, error) {
	var out []gatehouse.Session
	err := db.exec(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = db.revokeUserSessions(ctx, tx, appID, userInternalID, at)
		if err != nil || len(out) == 0 {
			return err
		}
		return db.appendEvent(ctx, tx, store.SessionsEvent(out))
	})
	return out, err
}

func (db *DB) ListRevokedSessions(ctx context.Context, now time.Time) ([]gatehouse.Session, error) {
	// NOT INDEXED: a scan of the table itself, so that a damaged index
	// (sessions_revoked) cannot hide a revocation; this runs once, at start.
	rows, err := db.readQuery(ctx, "SELECT "+sessionCols+" FROM sessions NOT INDEXED WHERE revoked_at <> 0 AND expires_at > ?", ms(now))
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSession)
}

func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, "DELETE FROM sessions WHERE expires_at < ?", ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		if err != nil {
			return err
		}
		_, err = db.txExec(ctx, tx, "DELETE FROM revoked_tokens WHERE expires_at < ?", ms(before))
		return err
	})
	return int(n), err
}

// Signing keys and secrets.

func (db *DB) SigningKeys(ctx context.Context) ([]token.SigningKey, error) {
	rows, err := db.readQuery(ctx, "SELECT id, seed, created_at, retired_at FROM signing_keys ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s scanner) (token.SigningKey, error) {
		var k token.SigningKey
		var created, retired int64
		err := s.Scan(&k.ID, &k.Seed, &created, &retired)
		k.CreatedAt, k.RetiredAt = fromMS(created), fromMS(retired)
		return k, err
	})
}

func (db *DB) AddSigningKey(ctx context.Context, k token.SigningKey) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "INSERT INTO signing_keys (id, seed, created_at, retired_at) VALUES (?, ?, ?, ?)", k.ID, k.Seed, ms(k.CreatedAt), ms(k.RetiredAt))
		if isUnique(err) {
			return fmt.Errorf("signing key %s: %w", k.ID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventSigningKeys})
	})
}

// SetSigningKeySeed replaces the stored seed of a signing key: the session
// service seals, in place, seeds written in plain text by versions before
// sealing. It is not part of store.Store (a new backend never held plain
// seeds). Returns ErrNotFound if there is no such key.
func (db *DB) SetSigningKeySeed(ctx context.Context, id string, seed []byte) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		r, err := db.txExec(ctx, tx, "UPDATE signing_keys SET seed = ? WHERE id = ?", seed, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("signing key %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

func (db *DB) RotateSigningKey(ctx context.Context, k token.SigningKey, dropOld bool) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		var err error
		if dropOld {
			_, err = db.txExec(ctx, tx, "DELETE FROM signing_keys")
		} else {
			_, err = db.txExec(ctx, tx, "UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0", ms(k.CreatedAt))
		}
		if err != nil {
			return err
		}
		_, err = db.txExec(ctx, tx, "INSERT INTO signing_keys (id, seed, created_at, retired_at) VALUES (?, ?, ?, 0)", k.ID, k.Seed, ms(k.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("signing key %s: %w", k.ID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventSigningKeys, Emergency: dropOld})
	})
}

func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := db.readRow(ctx, "SELECT value FROM secrets WHERE name = ?", name).Scan(&v)
	return v, notFound(err, "secret "+name)
}

func (db *DB) PutSecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error) {
	var v []byte
	err := db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, value); err != nil {
			return err
		}
		return db.txQueryRow(ctx, tx, "SELECT value FROM secrets WHERE name = ?", name).Scan(&v)
	})
	return v, err
}

func (db *DB) SetSecret(ctx context.Context, name string, value []byte) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventSecret, Name: name})
	})
}

func (db *DB) GetOrCreateUser(ctx context.Context, u gatehouse.User) (gatehouse.User, error) {
	var out gatehouse.User
	err := db.exec(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanUser(db.txQueryRow(ctx, tx, "SELECT "+userCols+" FROM users WHERE app_id = ? AND user_id = ?", u.AppID, u.UserID))
		if errors.Is(err, sql.ErrNoRows) {
			out = u
			return db.putUser(ctx, tx, &out, true)
		}
		return err
	})
	return out, err
}

// Verification keys.

const vkeyCols = "id, app_id, alg, kind, material, jwks_url, created_at"

func scanVKey(s scanner) (gatehouse.VerificationKey, error) {
	var k gatehouse.VerificationKey
	var created int64
	err := s.Scan(&k.ID, &k.AppID, &k.Alg, &k.Kind, &k.Material, &k.JWKSURL, &created)
	k.CreatedAt = fromMS(created)
	return k, err
}

func (db *DB) CreateVerificationKey(ctx context.Context, k gatehouse.VerificationKey) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "INSERT INTO verification_keys ("+vkeyCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			k.ID, k.AppID, k.Alg, k.Kind, k.Material, k.JWKSURL, ms(k.CreatedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("verification key %s: %w", k.ID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("app %s: %w", k.AppID, store.ErrNotFound)
		case err != nil:
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventVerificationKey, VerificationKey: &k})
	})
}

func (db *DB) ListVerificationKeys(ctx context.Context, appID string) ([]gatehouse.VerificationKey, error) {
	rows, err := db.readQuery(ctx, "SELECT "+vkeyCols+" FROM verification_keys WHERE app_id = ? ORDER BY created_at, id", appID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanVKey)
}

func (db *DB) AllVerificationKeys(ctx context.Context) ([]gatehouse.VerificationKey, error) {
	rows, err := db.readQuery(ctx, "SELECT "+vkeyCols+" FROM verification_keys ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanVKey)
}

func (db *DB) DeleteVerificationKey(ctx context.Context, appID, id string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, "DELETE FROM verification_keys WHERE app_id = ? AND id = ?", appID, id)
		if err := affected(res, err, "verification key "+id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventVerificationKey, AppID: appID, KeyID: id, Removed: true})
	})
}

// Revoked customer tokens.

func (db *DB) RevokeToken(ctx context.Context, t store.RevokedToken) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, "INSERT INTO revoked_tokens (app_id, token_hash, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			t.AppID, t.Hash, ms(t.ExpiresAt)); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventToken, Token: &t})
	})
}

func (db *DB) ListRevokedTokens(ctx context.Context, now time.Time) ([]store.RevokedToken, error) {
	// NOT INDEXED, as in ListRevokedSessions.
	rows, err := db.readQuery(ctx, "SELECT app_id, token_hash, expires_at FROM revoked_tokens NOT INDEXED WHERE expires_at > ?", ms(now))
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s scanner) (store.RevokedToken, error) {
		var t store.RevokedToken
		var exp int64
		err := s.Scan(&t.AppID, &t.Hash, &exp)
		t.ExpiresAt = fromMS(exp)
		return t, err
	})
}

// Visitor secrets.

const vsecretCols = "id, app_id, sealed, created_at"

func scanVSecret(s scanner) (gatehouse.VisitorSecret, error) {
	var v gatehouse.VisitorSecret
	var created int64
	err := s.Scan(&v.ID, &v.AppID, &v.Sealed, &created)
	v.CreatedAt = fromMS(created)
	return v, err
}

func (db *DB) AddVisitorSecret(ctx context.Context, v gatehouse.VisitorSecret, keep int) ([]gatehouse.VisitorSecret, error) {
	var dropped []gatehouse.VisitorSecret
	err := db.exec(ctx, func(tx *sql.Tx) error {
		dropped = nil
		_, err := db.txExec(ctx, tx, "INSERT INTO visitor_secrets ("+vsecretCols+") VALUES (?, ?, ?, ?)", v.ID, v.AppID, v.Sealed, ms(v.CreatedAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("visitor secret %s: %w", v.ID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("app %s: %w", v.AppID, store.ErrNotFound)
		case err != nil:
			return err
		}
		rows, err := db.txQuery(ctx, tx, "DELETE FROM visitor_secrets WHERE app_id = ? AND id NOT IN (SELECT id FROM visitor_secrets WHERE app_id = ? ORDER BY created_at DESC, id DESC LIMIT ?) RETURNING "+vsecretCols,
			v.AppID, v.AppID, keep)
		if err != nil {
			return err
		}
		if dropped, err = collect(rows, scanVSecret); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventVisitorSecrets, AppID: v.AppID})
	})
	return dropped, err
}

func (db *DB) ListVisitorSecrets(ctx context.Context, appID string) ([]gatehouse.VisitorSecret, error) {
	rows, err := db.readQuery(ctx, "SELECT "+vsecretCols+" FROM visitor_secrets WHERE app_id = ? ORDER BY created_at, id", appID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanVSecret)
}

func (db *DB) AllVisitorSecrets(ctx context.Context) ([]gatehouse.VisitorSecret, error) {
	rows, err := db.readQuery(ctx, "SELECT "+vsecretCols+" FROM visitor_secrets ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanVSecret)
}

func (db *DB) DeleteVisitorSecret(ctx context.Context, appID, id string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, "DELETE FROM visitor_secrets WHERE app_id = ? AND id = ?", appID, id)
		if err := affected(res, err, "visitor secret "+id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, store.Event{Kind: store.EventVisitorSecrets, AppID: appID})
	})
}

// Visitor upkeep.

func (db *DB) PurgeVisitors(ctx context.Context, types []gatehouse.UserType, before time.Time) ([]gatehouse.User, error) {
	var out []gatehouse.User
	err := db.exec(ctx, func(tx *sql.Tx) error {
		out = nil
		for _, t := range types {
			// Sessions first (they reference the user); deleting them does
			// not change which users qualify.
			const cond = "type = ? AND banned = 0 AND deleted = 0 AND created_at < ?" +
				" AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_internal_id = users.id AND s.expires_at >= ?)"
			if _, err := db.txExec(ctx, tx, "DELETE FROM sessions WHERE user_internal_id IN (SELECT id FROM users WHERE "+cond+")",
				userType(t), ms(before), ms(before)); err != nil {
				return err
			}
			rows, err := db.txQuery(ctx, tx, "DELETE FROM users WHERE "+cond+" RETURNING "+userCols, userType(t), ms(before), ms(before))
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
	var n int
	err := db.readRow(ctx, "SELECT count(*) FROM users WHERE type = ? AND deleted = 0", userType(t)).Scan(&n)
	return n, err
}
