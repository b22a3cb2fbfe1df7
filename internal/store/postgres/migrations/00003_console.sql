-- +goose Up
-- Console administrators, their admin API tokens, console sessions and the
-- audit log (the same tables as the SQLite store's 0005_console.sql).
CREATE TABLE admins (
    id             text COLLATE "C" PRIMARY KEY,
    name           text COLLATE "C" NOT NULL UNIQUE,
    role           text NOT NULL,
    password_hash  text NOT NULL,
    created_at     timestamptz,
    updated_at     timestamptz,
    disabled_at    timestamptz
);

-- hash: SHA-256 of the whole token string; the token itself is never kept.
CREATE TABLE admin_tokens (
    id          text COLLATE "C" PRIMARY KEY,
    admin_id    text COLLATE "C" NOT NULL REFERENCES admins(id),
    name        text NOT NULL,
    hash        bytea NOT NULL,
    created_at  timestamptz,
    expires_at  timestamptz,
    revoked_at  timestamptz,
    last_used   timestamptz
);
CREATE INDEX admin_tokens_admin ON admin_tokens(admin_id);

-- id: SHA-256 of the cookie value.
CREATE TABLE console_sessions (
    id          text COLLATE "C" PRIMARY KEY,
    admin_id    text COLLATE "C" NOT NULL REFERENCES admins(id),
    csrf        text NOT NULL,
    addr        text NOT NULL,
    created_at  timestamptz,
    last_seen   timestamptz,
    expires_at  timestamptz
);
CREATE INDEX console_sessions_admin ON console_sessions(admin_id);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_kind  text NOT NULL,
    actor       text COLLATE "C" NOT NULL,
    via         text NOT NULL,
    action      text COLLATE "C" NOT NULL,
    app_id      text COLLATE "C" NOT NULL,
    target      text NOT NULL,
    addr        text NOT NULL,
    result      text NOT NULL,
    detail      text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor, id);
CREATE INDEX audit_log_app ON audit_log(app_id, id);

CREATE INDEX users_app_created ON users(app_id, created_at);
