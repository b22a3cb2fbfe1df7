package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Console administrators, their tokens, console sessions and the audit
// log. None of them is in the event log: every use reads the store, so a
// change is seen by every node at once.

const adminCols = "id, name, role, password_hash, created_at, updated_at, disabled_at"

func scanAdmin(r pgx.Row) (gatehouse.Admin, error) {
	var a gatehouse.Admin
	var created, updated, disabled pgtype.Timestamptz
	err := r.Scan(&a.ID, &a.Name, &a.Role, &a.PasswordHash, &created, &updated, &disabled)
	a.CreatedAt, a.UpdatedAt, a.DisabledAt = fromTS(created), fromTS(updated), fromTS(disabled)
	return a, err
}

func (db *DB) CreateAdmin(ctx context.Context, a gatehouse.Admin) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO admins ("+adminCols+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
			a.ID, a.Name, a.Role, a.PasswordHash, ts(a.CreatedAt), ts(a.UpdatedAt), ts(a.DisabledAt))
		if isUnique(err) {
			return fmt.Errorf("administrator %s: %w", a.Name, store.ErrConflict)
		}
		return err
	})
}

func (db *DB) GetAdmin(ctx context.Context, name string) (gatehouse.Admin, error) {
	a, err := one(ctx, db, scanAdmin, "SELECT "+adminCols+" FROM admins WHERE name = $1", name)
	return a, notFound(err, "administrator "+name)
}

func (db *DB) GetAdminByID(ctx context.Context, id string) (gatehouse.Admin, error) {
	a, err := one(ctx, db, scanAdmin, "SELECT "+adminCols+" FROM admins WHERE id = $1", id)
	return a, notFound(err, "administrator "+id)
}

func (db *DB) ListAdmins(ctx context.Context) ([]gatehouse.Admin, error) {
	return list(ctx, db, scanAdmin, "SELECT "+adminCols+" FROM admins ORDER BY created_at, id")
}

func (db *DB) UpdateAdmin(ctx context.Context, id string, update func(*gatehouse.Admin) error) (gatehouse.Admin, error) {
	var a gatehouse.Admin
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		a, err = scanAdmin(tx.QueryRow(ctx, "SELECT "+adminCols+" FROM admins WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return notFound(err, "administrator "+id)
		}
		name := a.Name
		if err := update(&a); err != nil {
			return err
		}
		a.ID, a.Name = id, name
		_, err = tx.Exec(ctx, "UPDATE admins SET role = $1, password_hash = $2, updated_at = $3, disabled_at = $4 WHERE id = $5",
			a.Role, a.PasswordHash, ts(a.UpdatedAt), ts(a.DisabledAt), id)
		return err
	})
	return a, err
}

const adminTokenCols = "id, admin_id, name, hash, created_at, expires_at, revoked_at, last_used"

func scanAdminToken(r pgx.Row) (gatehouse.AdminToken, error) {
	var t gatehouse.AdminToken
	var created, expires, revoked, used pgtype.Timestamptz
	err := r.Scan(&t.ID, &t.AdminID, &t.Name, &t.Hash, &created, &expires, &revoked, &used)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsed = fromTS(created), fromTS(expires), fromTS(revoked), fromTS(used)
	return t, err
}

func (db *DB) CreateAdminToken(ctx context.Context, t gatehouse.AdminToken) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO admin_tokens ("+adminTokenCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			t.ID, t.AdminID, t.Name, t.Hash, ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.RevokedAt), ts(t.LastUsed))
		switch {
		case isUnique(err):
			return fmt.Errorf("admin token %s: %w", t.ID, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("administrator %s: %w", t.AdminID, store.ErrNotFound)
		}
		return err
	})
}

func (db *DB) GetAdminToken(ctx context.Context, id string) (gatehouse.AdminToken, error) {
	t, err := one(ctx, db, scanAdminToken, "SELECT "+adminTokenCols+" FROM admin_tokens WHERE id = $1", id)
	return t, notFound(err, "admin token "+id)
}

func (db *DB) ListAdminTokens(ctx context.Context, adminID string) ([]gatehouse.AdminToken, error) {
	return list(ctx, db, scanAdminToken, "SELECT "+adminTokenCols+" FROM admin_tokens WHERE admin_id = $1 ORDER BY created_at, id", adminID)
}

func (db *DB) RevokeAdminToken(ctx context.Context, adminID, id string, at time.Time) (gatehouse.AdminToken, error) {
	var t gatehouse.AdminToken
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		// COALESCE keeps the first revocation time.
		t, err = scanAdminToken(tx.QueryRow(ctx, "UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND admin_id = $3 RETURNING "+adminTokenCols,
			ts(at), id, adminID))
		return notFound(err, "admin token "+id)
	})
	return t, err
}

func (db *DB) exec1(ctx context.Context, what, q string, args ...any) error {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	tag, err := db.pool.Exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (db *DB) TouchAdminToken(ctx context.Context, id string, at time.Time) error {
	return db.exec1(ctx, "admin token "+id, "UPDATE admin_tokens SET last_used = $1 WHERE id = $2", ts(at), id)
}

const consoleSessionCols = "id, admin_id, csrf, addr, created_at, last_seen, expires_at"

func scanConsoleSession(r pgx.Row) (gatehouse.ConsoleSession, error) {
	var c gatehouse.ConsoleSession
	var created, seen, expires pgtype.Timestamptz
	err := r.Scan(&c.ID, &c.AdminID, &c.CSRF, &c.Addr, &created, &seen, &expires)
	c.CreatedAt, c.LastSeen, c.ExpiresAt = fromTS(created), fromTS(seen), fromTS(expires)
	return c, err
}

func (db *DB) CreateConsoleSession(ctx context.Context, c gatehouse.ConsoleSession) error {
	return db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO console_sessions ("+consoleSessionCols+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
			c.ID, c.AdminID, c.CSRF, c.Addr, ts(c.CreatedAt), ts(c.LastSeen), ts(c.ExpiresAt))
		switch {
		case isUnique(err):
			return fmt.Errorf("console session: %w", store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("administrator %s: %w", c.AdminID, store.ErrNotFound)
		}
		return err
	})
}

func (db *DB) GetConsoleSession(ctx context.Context, id string) (gatehouse.ConsoleSession, error) {
	c, err := one(ctx, db, scanConsoleSession, "SELECT "+consoleSessionCols+" FROM console_sessions WHERE id = $1", id)
	return c, notFound(err, "console session")
}

func (db *DB) TouchConsoleSession(ctx context.Context, id string, at time.Time) error {
	return db.exec1(ctx, "console session", "UPDATE console_sessions SET last_seen = $1 WHERE id = $2", ts(at), id)
}

func (db *DB) DeleteConsoleSession(ctx context.Context, id string) error {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	_, err := db.pool.Exec(ctx, "DELETE FROM console_sessions WHERE id = $1", id)
	return err
}

func (db *DB) deleteCount(ctx context.Context, q string, args ...any) (int, error) {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	tag, err := db.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

func (db *DB) DeleteAdminConsoleSessions(ctx context.Context, adminID string) (int, error) {
	return db.deleteCount(ctx, "DELETE FROM console_sessions WHERE admin_id = $1", adminID)
}

func (db *DB) PurgeConsoleSessions(ctx context.Context, expiredBefore, idleBefore time.Time) (int, error) {
	return db.deleteCount(ctx, "DELETE FROM console_sessions WHERE expires_at < $1 OR last_seen < $2", ts(expiredBefore), ts(idleBefore))
}

const auditCols = "id, at, actor_kind, actor, via, action, app_id, target, addr, result, detail"

func scanAudit(r pgx.Row) (gatehouse.AuditEntry, error) {
	var e gatehouse.AuditEntry
	var at pgtype.Timestamptz
	err := r.Scan(&e.ID, &at, &e.ActorKind, &e.Actor, &e.Via, &e.Action, &e.AppID, &e.Target, &e.Addr, &e.Result, &e.Detail)
	e.At = fromTS(at)
	return e, err
}

func (db *DB) AppendAudit(ctx context.Context, e gatehouse.AuditEntry) (gatehouse.AuditEntry, error) {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	err := db.pool.QueryRow(ctx, "INSERT INTO audit_log (at, actor_kind, actor, via, action, app_id, target, addr, result, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
		ts(e.At), e.ActorKind, e.Actor, e.Via, e.Action, e.AppID, e.Target, e.Addr, e.Result, e.Detail).Scan(&e.ID)
	return e, err
}

func (db *DB) ListAudit(ctx context.Context, f gatehouse.AuditFilter) ([]gatehouse.AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok && prefix != "" {
		add("starts_with(action, ?)", f.Action)
	} else if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.AppID != "" {
		add("app_id = ?", f.AppID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ts(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", ts(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := "SELECT " + auditCols + " FROM audit_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	return list(ctx, db, scanAudit, q, args...)
}

func (db *DB) SearchUsers(ctx context.Context, appID, query string, offset, limit int) ([]gatehouse.User, int, error) {
	cond := "app_id = $1"
	args := []any{appID}
	if query != "" {
		// strpos, not LIKE: the query is data, and % or _ in it must not
		// be wildcards.
		cond += " AND (strpos(lower(user_id), lower($2)) > 0 OR strpos(lower(display_name), lower($2)) > 0)"
		args = append(args, query)
	}
	ctx, cancel := bound(ctx, listTimeout)
	defer cancel()
	var total int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM users WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	n := len(args)
	users, err := list(ctx, db, scanUser, "SELECT "+userCols+" FROM users WHERE "+cond+
		" ORDER BY created_at DESC, id LIMIT $"+strconv.Itoa(n+1)+" OFFSET $"+strconv.Itoa(n+2), append(args, limit, offset)...)
	return users, total, err
}

func (db *DB) CountLiveSessions(ctx context.Context, appID string, now time.Time) (int, error) {
	ctx, cancel := bound(ctx, listTimeout)
	defer cancel()
	var n int
	var err error
	if appID == "" {
		err = db.pool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1", ts(now)).Scan(&n)
	} else {
		err = db.pool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE app_id = $1 AND revoked_at IS NULL AND expires_at > $2", appID, ts(now)).Scan(&n)
	}
	return n, err
}
