-- +goose Up
-- Visitor and bot sessions.

-- off, on or secure; bots 0/1.
ALTER TABLE apps ADD COLUMN visitors TEXT NOT NULL DEFAULT 'off';
ALTER TABLE apps ADD COLUMN bots INTEGER NOT NULL DEFAULT 0;

-- signed-in, visitor or bot.
ALTER TABLE users ADD COLUMN type TEXT NOT NULL DEFAULT 'signed-in';
CREATE INDEX users_visitors ON users(type, created_at) WHERE type <> 'signed-in';
CREATE INDEX sessions_user_expiry ON sessions(user_internal_id, expires_at);

-- Secrets that sign secure visitor logins, sealed with the seal key (the
-- server computes HMACs with them, so they cannot be hashed).
CREATE TABLE visitor_secrets (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id),
    sealed      BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX visitor_secrets_app ON visitor_secrets(app_id, created_at);
