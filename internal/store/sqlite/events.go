package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// appendEvent writes an event in the change's transaction. The single
// writer commits transactions one after another, so ids become visible in
// order.
func (db *DB) appendEvent(ctx context.Context, tx *sql.Tx, e store.Event) error {
	_, err := db.txExec(ctx, tx, "INSERT INTO events (at, kind, data) VALUES (?, ?, ?)", ms(time.Now()), string(e.Kind), store.EncodeEvent(e))
	return err
}

func (db *DB) Events(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	// One statement, so one snapshot: rows come back only if nothing after
	// `after` was pruned.
	rows, err := db.readQuery(ctx, "SELECT id, at, data FROM events WHERE id > ?1 AND ?1 >= (SELECT through FROM events_pruned) ORDER BY id LIMIT ?2", after, limit)
	if err != nil {
		return nil, err
	}
	list, err := collect(rows, scanEvent)
	if err != nil || len(list) > 0 {
		return list, err
	}
	var through int64
	if err := db.readRow(ctx, "SELECT through FROM events_pruned").Scan(&through); err != nil {
		return nil, err
	}
	if through > after {
		return nil, store.ErrPruned
	}
	return nil, nil
}

func scanEvent(s scanner) (store.Event, error) {
	var (
		id, at int64
		data   []byte
	)
	if err := s.Scan(&id, &at, &data); err != nil {
		return store.Event{}, err
	}
	return store.DecodeEvent(id, fromMS(at), data)
}

func (db *DB) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := db.readRow(ctx, "SELECT max(coalesce((SELECT max(id) FROM events), 0), (SELECT through FROM events_pruned))").Scan(&id)
	return id, err
}

func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.exec(ctx, func(tx *sql.Tx) error {
		var last sql.NullInt64
		if err := db.txQueryRow(ctx, tx, "SELECT max(id) FROM events WHERE at < ?", ms(before)).Scan(&last); err != nil || !last.Valid {
			return err
		}
		res, err := db.txExec(ctx, tx, "DELETE FROM events WHERE id <= ?", last.Int64)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = db.txExec(ctx, tx, "UPDATE events_pruned SET through = max(through, ?)", last.Int64)
		return err
	})
	return int(n), err
}
