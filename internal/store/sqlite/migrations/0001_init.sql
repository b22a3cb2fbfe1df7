-- +goose Up
-- Times are Unix milliseconds, UTC. 0 means "not set".
CREATE TABLE apps (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secure_mode  INTEGER NOT NULL,
    access_ttl   INTEGER NOT NULL, -- milliseconds
    auth_ttl     INTEGER NOT NULL, -- milliseconds
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE keys (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    hash        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX keys_app ON keys(app_id, kind);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps(id),
    user_id       TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    banned        INTEGER NOT NULL DEFAULT 0,
    deleted       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (app_id, user_id)
) STRICT;
CREATE INDEX users_restricted ON users(app_id) WHERE banned = 1 OR deleted = 1;

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps(id),
    user_id        TEXT NOT NULL REFERENCES users(id),
    device_id      TEXT NOT NULL,
    device_info    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER NOT NULL DEFAULT 0
) STRICT;
-- At most one unrevoked session per device: the rule that a login by another
-- user on the device ends the previous user's session.
CREATE UNIQUE INDEX sessions_device ON sessions(app_id, device_id) WHERE revoked_at = 0;
CREATE INDEX sessions_user ON sessions(app_id, user_id, last_login_at);
CREATE INDEX sessions_revoked ON sessions(expires_at) WHERE revoked_at <> 0;
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    seed        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE secrets (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
) STRICT;
