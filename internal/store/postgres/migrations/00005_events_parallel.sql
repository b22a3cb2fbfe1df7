-- +goose Up
-- Event writers no longer queue on the one counter row of events_state
-- (which made every event-writing transaction wait for the previous one's
-- commit, fsync included). Ids come from a sequence; a writer holds a
-- shared advisory lock from before it takes its id until it commits, so
-- writers run and commit in parallel (PostgreSQL groups their WAL flushes).
-- A reader that finds a gap in the ids takes the same lock exclusively for
-- a moment, which waits out every writer that may still commit a smaller
-- id, and reads again (internal/store/postgres/events.go).
-- events_state.last_id is no longer written; pruned_through still is.
CREATE SEQUENCE events_id_seq;
SELECT setval('events_id_seq', last_id + 1, false) FROM events_state;
