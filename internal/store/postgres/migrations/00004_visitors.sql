-- +goose Up
-- Visitor and bot sessions.

-- off, on or secure; bots on/off.
ALTER TABLE apps ADD COLUMN visitors text NOT NULL DEFAULT 'off';
ALTER TABLE apps ADD COLUMN bots boolean NOT NULL DEFAULT false;

-- signed-in, visitor or bot.
ALTER TABLE users ADD COLUMN type text NOT NULL DEFAULT 'signed-in';
CREATE INDEX users_visitors ON users(type, created_at) WHERE type <> 'signed-in';
CREATE INDEX sessions_user_expiry ON sessions(user_internal_id, expires_at);

-- Secrets that sign secure visitor logins, sealed with the seal key (the
-- server computes HMACs with them, so they cannot be hashed).
CREATE TABLE visitor_secrets (
    id          text COLLATE "C" PRIMARY KEY,
    app_id      text COLLATE "C" NOT NULL REFERENCES apps(id),
    sealed      bytea NOT NULL,
    created_at  timestamptz
);
CREATE INDEX visitor_secrets_app ON visitor_secrets(app_id, created_at);
