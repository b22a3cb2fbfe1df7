-- +goose Up
-- One row that readiness checks (/readyz) rewrite to prove the database
-- commits writes (not only answers queries: a read-only or full database
-- still answers SELECT 1).
CREATE TABLE health (
    id          integer PRIMARY KEY CHECK (id = 1),
    checked_at  timestamptz NOT NULL
);
