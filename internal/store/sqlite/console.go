package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Administrators.

const adminCols = "id, name, role, password_hash, created_at, updated_at, disabled_at"

func scanAdmin(s scanner) (gatehouse.Admin, error) {
	var a gatehouse.Admin
	var created, updated, disabled int64
	err := s.Scan(&a.ID, &a.Name, &a.Role, &a.PasswordHash, &created, &updated, &disabled)
	a.CreatedAt, a.UpdatedAt, a.DisabledAt = fromMS(created), fromMS(updated), fromMS(disabled)
	return a, err
}

func (db *DB) CreateAdmin(ctx context.Context, a gatehouse.Admin) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "INSERT INTO admins ("+adminCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			a.ID, a.Name, a.Role, a.PasswordHash, ms(a.CreatedAt), ms(a.UpdatedAt), ms(a.DisabledAt))
		if isUnique(err) {
			return fmt.Errorf("administrator %s: %w", a.Name, store.ErrConflict)
		}
		return err
	})
}

func (db *DB) GetAdmin(ctx context.Context, name string) (gatehouse.Admin, error) {
	a, err := scanAdmin(db.readRow(ctx, "SELECT "+adminCols+" FROM admins WHERE name = ?", name))
	return a, notFound(err, "administrator "+name)
}

func (db *DB) GetAdminByID(ctx context.Context, id string) (gatehouse.Admin, error) {
	a, err := scanAdmin(db.readRow(ctx, "SELECT "+adminCols+" FROM admins WHERE id = ?", id))
	return a, notFound(err, "administrator "+id)
}

func (db *DB) ListAdmins(ctx context.Context) ([]gatehouse.Admin, error) {
	rows, err := db.readQuery(ctx, "SELECT "+adminCols+" FROM admins ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAdmin)
}

func (db *DB) UpdateAdmin(ctx context.Context, id string, update func(*gatehouse.Admin) error) (gatehouse.Admin, error) {
	var a gatehouse.Admin
	err := db.exec(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAdmin(db.txQueryRow(ctx, tx, "SELECT "+adminCols+" FROM admins WHERE id = ?", id))
		if err != nil {
			return notFound(err, "administrator "+id)
		}
		name := a.Name
		if err := update(&a); err != nil {
			return err
		}
		a.ID, a.Name = id, name
		_, err = db.txExec(ctx, tx, "UPDATE admins SET role = ?, password_hash = ?, updated_at = ?, disabled_at = ? WHERE id = ?",
			a.Role, a.PasswordHash, ms(a.UpdatedAt), ms(a.DisabledAt), id)
		return err
	})
	return a, err
}

// Admin tokens.

const adminTokenCols = "id, admin_id, name, hash, created_at, expires_at, revoked_at, last_used"

func scanAdminToken(s scanner) (gatehouse.AdminToken, error) {
	var t gatehouse.AdminToken
	var created, expires, revoked, used int64
	err := s.Scan(&t.ID, &t.AdminID, &t.Name, &t.Hash, &created, &expires, &revoked, &used)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsed = fromMS(created), fromMS(expires), fromMS(revoked), fromMS(used)
	return t, err
}

func (db *DB) CreateAdminToken(ctx context.Context, t gatehouse.AdminToken) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "INSERT INTO admin_tokens ("+adminTokenCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.AdminID, t.Name, t.Hash, ms(t.CreatedAt), ms(t.ExpiresAt), ms(t.RevokedAt), ms(t.LastUsed))
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
	t, err := scanAdminToken(db.readRow(ctx, "SELECT "+adminTokenCols+" FROM admin_tokens WHERE id = ?", id))
	return t, notFound(err, "admin token "+id)
}

func (db *DB) ListAdminTokens(ctx context.Context, adminID string) ([]gatehouse.AdminToken, error) {
	rows, err := db.readQuery(ctx, "SELECT "+adminTokenCols+" FROM admin_tokens WHERE admin_id = ? ORDER BY created_at, id", adminID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAdminToken)
}

func (db *DB) RevokeAdminToken(ctx context.Context, adminID, id string, at time.Time) (gatehouse.AdminToken, error) {
	var t gatehouse.AdminToken
	err := db.exec(ctx, func(tx *sql.Tx) error {
		if _, err := db.txExec(ctx, tx, "UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND admin_id = ? AND revoked_at = 0", ms(at), id, adminID); err != nil {
			return err
		}
		var err error
		t, err = scanAdminToken(db.txQueryRow(ctx, tx, "SELECT "+adminTokenCols+" FROM admin_tokens WHERE id = ? AND admin_id = ?", id, adminID))
		return notFound(err, "admin token "+id)
	})
	return t, err
}

func (db *DB) TouchAdminToken(ctx context.Context, id string, at time.Time) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, "UPDATE admin_tokens SET last_used = ? WHERE id = ?", ms(at), id)
		return affected(res, err, "admin token "+id)
	})
}

// Console sessions.

const consoleSessionCols = "id, admin_id, csrf, addr, created_at, last_seen, expires_at"

func scanConsoleSession(s scanner) (gatehouse.ConsoleSession, error) {
	var c gatehouse.ConsoleSession
	var created, seen, expires int64
	err := s.Scan(&c.ID, &c.AdminID, &c.CSRF, &c.Addr, &created, &seen, &expires)
	c.CreatedAt, c.LastSeen, c.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return c, err
}

func (db *DB) CreateConsoleSession(ctx context.Context, c gatehouse.ConsoleSession) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "INSERT INTO console_sessions ("+consoleSessionCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.AdminID, c.CSRF, c.Addr, ms(c.CreatedAt), ms(c.LastSeen), ms(c.ExpiresAt))
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
	c, err := scanConsoleSession(db.readRow(ctx, "SELECT "+consoleSessionCols+" FROM console_sessions WHERE id = ?", id))
	return c, notFound(err, "console session")
}

func (db *DB) TouchConsoleSession(ctx context.Context, id string, at time.Time) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, "UPDATE console_sessions SET last_seen = ? WHERE id = ?", ms(at), id)
		return affected(res, err, "console session")
	})
}

func (db *DB) DeleteConsoleSession(ctx context.Context, id string) error {
	return db.exec(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, "DELETE FROM console_sessions WHERE id = ?", id)
		return err
	})
}

func (db *DB) DeleteAdminConsoleSessions(ctx context.Context, adminID string) (int, error) {
	var n int64
	err := db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, "DELETE FROM console_sessions WHERE admin_id = ?", adminID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

func (db *DB) PurgeConsoleSessions(ctx context.Context, expiredBefore, idleBefore time.Time) (int, error) {
	var n int64
	err := db.exec(ctx, func(tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, "DELETE FROM console_sessions WHERE expires_at < ? OR last_seen < ?", ms(expiredBefore), ms(idleBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Audit log.

const auditCols = "id, at, actor_kind, actor, via, action, app_id, target, addr, result, detail"

func scanAudit(s scanner) (gatehouse.AuditEntry, error) {
	var e gatehouse.AuditEntry
	var at int64
	err := s.Scan(&e.ID, &at, &e.ActorKind, &e.Actor, &e.Via, &e.Action, &e.AppID, &e.Target, &e.Addr, &e.Result, &e.Detail)
	e.At = fromMS(at)
	return e, err
}

func (db *DB) AppendAudit(ctx context.Context, e gatehouse.AuditEntry) (gatehouse.AuditEntry, error) {
	err := db.exec(ctx, func(tx *sql.Tx) error {
		return db.txQueryRow(ctx, tx, "INSERT INTO audit_log (at, actor_kind, actor, via, action, app_id, target, addr, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			ms(e.At), e.ActorKind, e.Actor, e.Via, e.Action, e.AppID, e.Target, e.Addr, e.Result, e.Detail).Scan(&e.ID)
	})
	return e, err
}

func (db *DB) ListAudit(ctx context.Context, f gatehouse.AuditFilter) ([]gatehouse.AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok && prefix != "" {
		add("substr(action, 1, ?) = ?", len(f.Action))
		args = append(args, f.Action)
	} else if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.AppID != "" {
		add("app_id = ?", f.AppID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", ms(f.Until))
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
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := db.readQuery(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAudit)
}

// Console queries over users and sessions.

func (db *DB) SearchUsers(ctx context.Context, appID, query string, offset, limit int) ([]gatehouse.User, int, error) {
	cond := "app_id = ?"
	args := []any{appID}
	if query != "" {
		// instr, not LIKE: the query is data, and % or _ in it must not
		// be wildcards.
		cond += " AND (instr(lower(user_id), lower(?)) > 0 OR instr(lower(display_name), lower(?)) > 0)"
		args = append(args, query, query)
	}
	var total int
	if err := db.readRow(ctx, "SELECT count(*) FROM users WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.readQuery(ctx, "SELECT "+userCols+" FROM users WHERE "+cond+" ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	users, err := collect(rows, scanUser)
	return users, total, err
}

func (db *DB) CountLiveSessions(ctx context.Context, appID string, now time.Time) (int, error) {
	var n int
	var err error
	if appID == "" {
		err = db.readRow(ctx, "SELECT count(*) FROM sessions WHERE revoked_at = 0 AND expires_at > ?", ms(now)).Scan(&n)
	} else {
		err = db.readRow(ctx, "SELECT count(*) FROM sessions WHERE app_id = ? AND revoked_at = 0 AND expires_at > ?", appID, ms(now)).Scan(&n)
	}
	return n, err
}
