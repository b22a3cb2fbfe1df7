-- +goose Up
-- The schema of the PostgreSQL store: the same tables as the SQLite store.
-- Times are timestamptz, NULL meaning "not set" (the zero time); durations are bigint
-- milliseconds. Ids compare and sort byte for byte (COLLATE "C"), as in
-- SQLite.
CREATE TABLE apps (
    id              text COLLATE "C" PRIMARY KEY,
    name            text NOT NULL,
    secure_mode     boolean NOT NULL,
    access_ttl      bigint NOT NULL, -- milliseconds
    auth_ttl        bigint NOT NULL, -- milliseconds
    created_at      timestamptz,
    updated_at      timestamptz,
    -- What an app requires of customer tokens. Empty / 0: not checked / default.
    token_issuer    text NOT NULL DEFAULT '',
    token_audience  text NOT NULL DEFAULT '',
    token_max_ttl   bigint NOT NULL DEFAULT 0 -- milliseconds
);

CREATE TABLE keys (
    id          text COLLATE "C" PRIMARY KEY,
    app_id      text COLLATE "C" NOT NULL REFERENCES apps(id),
    kind        text NOT NULL,
    name        text NOT NULL,
    hash        bytea NOT NULL,
    created_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX keys_app ON keys(app_id, kind);

CREATE TABLE users (
    id                  text COLLATE "C" PRIMARY KEY,
    app_id              text COLLATE "C" NOT NULL REFERENCES apps(id),
    user_id             text COLLATE "C" NOT NULL, -- the public id
    display_name        text NOT NULL,
    banned              boolean NOT NULL DEFAULT false,
    deleted             boolean NOT NULL DEFAULT false,
    created_at          timestamptz,
    updated_at          timestamptz,
    deleted_at          timestamptz,
    -- Tokens issued before this instant are refused.
    tokens_valid_after  timestamptz,
    UNIQUE (app_id, user_id)
);
CREATE INDEX users_restricted ON users(app_id) WHERE banned OR deleted OR tokens_valid_after IS NOT NULL;

CREATE TABLE sessions (
    id                text COLLATE "C" PRIMARY KEY,
    app_id            text COLLATE "C" NOT NULL REFERENCES apps(id),
    user_internal_id  text COLLATE "C" NOT NULL REFERENCES users(id),
    device_id         text COLLATE "C" NOT NULL,
    device_info       text NOT NULL, -- JSON
    created_at        timestamptz,
    last_login_at     timestamptz,
    expires_at        timestamptz,
    revoked_at        timestamptz
);
-- At most one unrevoked session per device (the rule itself is
-- gatehouse.ClaimDevice; this index makes a broken caller fail loudly).
CREATE UNIQUE INDEX sessions_device ON sessions(app_id, device_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_user ON sessions(app_id, user_internal_id, last_login_at);
CREATE INDEX sessions_revoked ON sessions(expires_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE signing_keys (
    id          text COLLATE "C" PRIMARY KEY,
    seed        bytea NOT NULL,
    created_at  timestamptz,
    retired_at  timestamptz
);

CREATE TABLE secrets (
    name   text COLLATE "C" PRIMARY KEY,
    value  bytea NOT NULL
);

-- Keys that verify customer tokens. material: HMAC secrets sealed with a
-- key kept outside the database; public keys as PEM or JWK; nothing for
-- JWKS URLs (the URL is in jwks_url).
CREATE TABLE verification_keys (
    id          text COLLATE "C" PRIMARY KEY,
    app_id      text COLLATE "C" NOT NULL REFERENCES apps(id),
    alg         text NOT NULL,
    kind        text NOT NULL,
    material    bytea NOT NULL,
    jwks_url    text NOT NULL DEFAULT '',
    created_at  timestamptz
);
CREATE INDEX verification_keys_app ON verification_keys(app_id);

-- Customer tokens revoked by secure logout, until they expire.
CREATE TABLE revoked_tokens (
    app_id      text COLLATE "C" NOT NULL,
    token_hash  text COLLATE "C" NOT NULL,
    expires_at  timestamptz,
    PRIMARY KEY (app_id, token_hash)
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);
