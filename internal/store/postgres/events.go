package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// How a reader never skips an event: ids come from a sequence, so two
// writers may commit out of id order, and a reader may see id n+1 while n
// is still in flight. Every writer holds eventLock shared from before it
// takes its id until its transaction ends; writers never wait for one
// another. A reader that finds a gap after the last id it applied takes
// eventLock exclusively, which waits until every writer that may hold a
// smaller id has committed or rolled back, and reads again inside that
// transaction: what is missing then was rolled back and never will be.
// Two changes that touch the same rows cannot commit out of id order: the
// second waits for the first's row locks before it writes its event.

// eventLockClass is the first key of the event-log advisory lock (the
// second is 0).
//
//lint:ignore U1000 names the number spelled out in eventLockSQL
const eventLockClass = 0x6765 // "ge"

// appendEvent writes an event in the change's transaction. It must be the
// transaction's last statement (nothing but COMMIT after it), so that the
// shared lock it takes is held only for the commit.
func appendEvent(ctx context.Context, tx pgx.Tx, e store.Event) error {
	if w, ok := ctx.Value(wroteKey{}).(*wrote); ok {
		w.event = true // DB.tx announces it after the commit
	}
	_, err := tx.Exec(ctx, appendEventSQL, time.Now(), string(e.Kind), store.EncodeEvent(e))
	return err
}

// queueEvent is appendEvent in a batch; the same rule holds: nothing but
// COMMIT may follow it.
func queueEvent(b *pgx.Batch, e store.Event) {
	b.Queue(appendEventSQL, time.Now(), string(e.Kind), store.EncodeEvent(e))
}

// The lock is taken before nextval (the insert reads from the lock's CTE),
// so a reader that holds eventLock exclusively knows every id handed out
// before is settled.
const appendEventSQL = `WITH lock AS (SELECT pg_advisory_xact_lock_shared(` + eventLockSQL + `) AS l)
	INSERT INTO events (id, at, kind, data) SELECT nextval('events_id_seq'), $1, $2, $3 FROM lock`

const eventLockSQL = "26469, 0" // eventLockClass, 0

func scanEvent(r pgx.Row) (store.Event, error) {
	var (
		id   int64
		at   pgtype.Timestamptz
		data []byte
	)
	if err := r.Scan(&id, &at, &data); err != nil {
		return store.Event{}, err
	}
	return store.DecodeEvent(id, fromTS(at), data)
}

// eventsSQL reads a page of the log. One statement, so one snapshot: rows
// come back only if nothing after `after` was pruned.
const eventsSQL = "SELECT id, at, data FROM events WHERE id > $1 AND $1 >= (SELECT pruned_through FROM events_state) ORDER BY id LIMIT $2"

func (db *DB) Events(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	list, err := list(ctx, db, scanEvent, eventsSQL, after, limit)
	if err != nil {
		return nil, err
	}
	if gap(after, list) {
		// An id in the middle may still be in flight: wait for its writer,
		// then read what is settled.
		err = db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+eventLockSQL+")"); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, eventsSQL, after, limit)
			if err != nil {
				return err
			}
			list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Event, error) { return scanEvent(r) })
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if len(list) > 0 {
		return list, nil
	}
	through, err := one(ctx, db, scanInt, "SELECT pruned_through FROM events_state")
	if err != nil {
		return nil, err
	}
	if through > after {
		return nil, store.ErrPruned
	}
	return nil, nil
}

func scanInt(r pgx.Row) (int64, error) {
	var v int64
	err := r.Scan(&v)
	return v, err
}

// gap reports whether the ids of list skip one after `after`.
func gap(after int64, list []store.Event) bool {
	for _, e := range list {
		if e.ID != after+1 {
			return true
		}
		after = e.ID
	}
	return false
}

// LastEventID waits out the writers in flight (eventLock, exclusively), so
// that every id up to the one it returns is settled: a node that loads its
// state after this call and applies the events after the id misses none.
func (db *DB) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+eventLockSQL+")"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT greatest(coalesce((SELECT max(id) FROM events), 0), pruned_through) FROM events_state").Scan(&id)
	})
	return id, err
}

func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var last pgtype.Int8
		if err := tx.QueryRow(ctx, "SELECT max(id) FROM events WHERE at < $1", before).Scan(&last); err != nil || !last.Valid {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM events WHERE id <= $1", last.Int64)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, "UPDATE events_state SET pruned_through = greatest(pruned_through, $1)", last.Int64)
		return err
	})
	return int(n), err
}
