package postgres

import (
	"context"
	"time"
)

// Announcing events. After a transaction that wrote an event commits, the
// store sends NOTIFY on EventChannel from a transaction of its own, so that
// the other nodes' listeners read the log. It is not sent from the
// writing transaction: PostgreSQL serializes the commits of transactions
// that NOTIFY (one global lock, held through the commit's WAL flush),
// which would make event writers wait for one another. A notification is
// only a hint — nodes poll the log too — so it is sent without waiting for
// its own flush, and several announced meanwhile are sent as one.

// wrote records, in a transaction's context, that it wrote an event.
type wrote struct{ event bool }

type wroteKey struct{}

// announce asks for a notification; it never blocks.
func (db *DB) announce() {
	select {
	case db.notify <- struct{}{}:
	default:
	}
}

// notifier sends the notifications announce asks for until Close.
func (db *DB) notifier() {
	defer close(db.notified)
	for {
		select {
		case <-db.closing:
			return
		case <-db.notify:
		}
		// A failure is retried once (a connection the pool had not yet
		// found broken); after that the nodes' polls find the event.
		for range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			// Without arguments pgx uses the simple protocol: one round trip.
			_, err := db.pool.Exec(ctx, "BEGIN; SET LOCAL synchronous_commit = off; NOTIFY "+EventChannel+"; COMMIT")
			cancel()
			if err == nil {
				break
			}
		}
	}
}
