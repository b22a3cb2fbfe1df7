-- +goose Up
-- One row that readiness checks (/readyz) rewrite to prove the store
-- commits: through the group commit, fsync included.
CREATE TABLE health (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at  INTEGER NOT NULL -- Unix milliseconds
) STRICT;
