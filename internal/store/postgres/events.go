package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// appendEvent writes an event in the change's transaction. It must be the
// transaction's last statement: it takes the next id by locking the one row
// of events_state, and holds that lock until the commit, so transactions
// that write events commit in id order (see the migration). Everything
// else the transaction does runs in parallel with other writers.
func appendEvent(ctx context.Context, tx pgx.Tx, e store.Event) error {
	// NOTIFY is delivered at commit, and only if the transaction commits;
	// listeners (see Listener) then read the log.
	_, err := tx.Exec(ctx, appendEventSQL, time.Now(), string(e.Kind), store.EncodeEvent(e))
	return err
}

// queueEvent is appendEvent in a batch; the same rule holds: nothing but
// COMMIT may follow it.
func queueEvent(b *pgx.Batch, e store.Event) {
	b.Queue(appendEventSQL, time.Now(), string(e.Kind), store.EncodeEvent(e))
}

const appendEventSQL = `WITH next AS (UPDATE events_state SET last_id = last_id + 1 RETURNING last_id),
	ins AS (INSERT INTO events (id, at, kind, data) SELECT last_id, $1, $2, $3 FROM next RETURNING id)
	SELECT pg_notify('` + EventChannel + `', id::text) FROM ins`

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

func (db *DB) Events(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	// One statement, so one snapshot: rows come back only if nothing after
	// `after` was pruned.
	list, err := list(ctx, db, scanEvent, "SELECT id, at, data FROM events WHERE id > $1 AND $1 >= (SELECT pruned_through FROM events_state) ORDER BY id LIMIT $2", after, limit)
	if err != nil || len(list) > 0 {
		return list, err
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

func (db *DB) LastEventID(ctx context.Context) (int64, error) {
	return one(ctx, db, scanInt, "SELECT last_id FROM events_state")
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
