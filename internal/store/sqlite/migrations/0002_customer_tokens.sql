-- +goose Up
-- Login with customer-signed access tokens.

-- What an app requires of customer tokens. Empty / 0: not checked / default.
ALTER TABLE apps ADD COLUMN token_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN token_audience TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN token_max_ttl INTEGER NOT NULL DEFAULT 0; -- milliseconds

-- Tokens issued before this instant (ms) are refused: "revoke all" and bans
-- for tokens Gatehouse did not issue and holds no session for.
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER NOT NULL DEFAULT 0;

-- Keys that verify customer tokens. material: HMAC secrets sealed with a
-- key kept outside the database; public keys as PEM or JWK; nothing for
-- JWKS URLs (the URL is in jwks_url).
CREATE TABLE verification_keys (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id),
    alg         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    material    BLOB NOT NULL,
    jwks_url    TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX verification_keys_app ON verification_keys(app_id);

-- Customer tokens revoked by secure logout, until they expire.
CREATE TABLE revoked_tokens (
    app_id      TEXT NOT NULL,
    token_hash  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, token_hash)
) STRICT;
CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);
