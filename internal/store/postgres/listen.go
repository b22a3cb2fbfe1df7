package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventChannel is the NOTIFY channel of the event log: every transaction
// that writes an event notifies it on commit (see appendEvent).
const EventChannel = "gatehouse_events"

// Listener holds one LISTEN connection per node and calls wake for every
// notification of the event channel. A notification only says "look": the
// node reads the log from the last event it applied, so a notification
// lost while the connection was down costs nothing but time — wake is
// also called whenever the connection is (re)established, and the node
// polls the log anyway.
type Listener struct {
	cfg  *pgx.ConnConfig
	log  *slog.Logger
	wake func()
	// probe is how long the connection may stay silent before it is
	// checked with a ping (a connection dropped without a reset).
	probe time.Duration
}

// NewListener returns a listener on the database at url.
func NewListener(url string, log *slog.Logger, wake func()) (*Listener, error) {
	pc, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg := pc.ConnConfig
	// Named per process, so an operator (or a test) can tell the nodes'
	// listening connections apart in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = ListenerName(os.Getpid())
	return &Listener{cfg: cfg, log: log, wake: wake, probe: 15 * time.Second}, nil
}

// ListenerName is the application_name of the listening connection of the
// process with that pid.
func ListenerName(pid int) string { return fmt.Sprintf("gatehouse-listen-%d", pid) }

// Run listens until ctx ends, reconnecting with backoff (100 ms doubling to
// 2 s) when the connection fails.
func (l *Listener) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	failing := false
	for {
		connected, err := l.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = 100 * time.Millisecond
		}
		if !failing {
			l.log.Warn("event listener connection lost; reconnecting (the node polls the log meanwhile)", "err", err)
		}
		failing = !connected
		l.wake()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listen connects, listens, and waits for notifications until the
// connection fails. connected reports whether LISTEN succeeded.
func (l *Listener) listen(ctx context.Context) (connected bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	conn, err := pgx.ConnectConfig(cctx, l.cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	cctx, cancel = context.WithTimeout(ctx, opTimeout)
	_, err = conn.Exec(cctx, "LISTEN "+EventChannel)
	cancel()
	if err != nil {
		return false, err
	}
	l.log.Info("listening for events")
	// Anything committed before LISTEN took effect was not notified here.
	l.wake()
	for {
		wctx, cancel := context.WithTimeout(ctx, l.probe)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.wake()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// Silence: make sure the connection is still there.
			pctx, cancel := context.WithTimeout(ctx, opTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
