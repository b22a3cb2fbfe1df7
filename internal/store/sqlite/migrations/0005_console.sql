-- +goose Up
-- Console administrators, their admin API tokens, console sessions and the
-- audit log.
CREATE TABLE admins (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    disabled_at    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- hash: SHA-256 of the whole token string; the token itself is never kept.
CREATE TABLE admin_tokens (
    id          TEXT PRIMARY KEY,
    admin_id    TEXT NOT NULL REFERENCES admins(id),
    name        TEXT NOT NULL,
    hash        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL DEFAULT 0,
    last_used   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX admin_tokens_admin ON admin_tokens(admin_id);

-- id: SHA-256 of the cookie value.
CREATE TABLE console_sessions (
    id          TEXT PRIMARY KEY,
    admin_id    TEXT NOT NULL REFERENCES admins(id),
    csrf        TEXT NOT NULL,
    addr        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_admin ON console_sessions(admin_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    via         TEXT NOT NULL,
    action      TEXT NOT NULL,
    app_id      TEXT NOT NULL,
    target      TEXT NOT NULL,
    addr        TEXT NOT NULL,
    result      TEXT NOT NULL,
    detail      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor, id);
CREATE INDEX audit_log_app ON audit_log(app_id, id);

CREATE INDEX users_app_created ON users(app_id, created_at);
