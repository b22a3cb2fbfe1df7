-- +goose Up
-- The event log between nodes (internal/store/event.go): every change that
-- affects validation or live connections, written in the change's own
-- transaction. AUTOINCREMENT: ids are never reused, even after pruning.
CREATE TABLE events (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    at    INTEGER NOT NULL, -- when written, ms
    kind  TEXT NOT NULL,
    data  BLOB NOT NULL     -- JSON payload
) STRICT;
CREATE INDEX events_at ON events(at);

-- The highest event id pruned so far: a reader behind it must reload.
CREATE TABLE events_pruned (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    through  INTEGER NOT NULL
) STRICT;
INSERT INTO events_pruned (one, through) VALUES (1, 0);
