-- +goose Up
-- The event log between nodes (internal/store/event.go): every change that
-- affects validation or live connections, written in the change's own
-- transaction.
CREATE TABLE events (
    id    bigint PRIMARY KEY,
    at    timestamptz NOT NULL, -- when written
    kind  text NOT NULL,
    data  bytea NOT NULL        -- JSON payload
);
CREATE INDEX events_at ON events(at);

-- One row. last_id: the newest event id. A writer takes the next id with
-- UPDATE … RETURNING as the last statement of its transaction and holds the
-- row lock until it commits, so ids become visible in order: a reader that
-- saw id n never later finds a smaller one. pruned_through: the highest
-- event id pruned; a reader behind it must reload.
CREATE TABLE events_state (
    one             boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id         bigint NOT NULL,
    pruned_through  bigint NOT NULL
);
INSERT INTO events_state (last_id, pruned_through) VALUES (0, 0);
