package postgres_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
)

// TestListenerWakes: the listener wakes the node when an event commits
// (not when its transaction fails), and when its connection is killed it
// reconnects by itself and wakes the node at once, so that what committed
// meanwhile is read from the log.
func TestListenerWakes(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wakes := make(chan struct{}, 100)
	l, err := postgres.NewListener(url, slog.New(slog.NewTextHandler(io.Discard, nil)), func() { wakes <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wait := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up %s", what)
		}
	}
	drain := func() {
		for {
			select {
			case <-wakes:
			default:
				return
			}
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-wakes:
			t.Fatalf("woken %s", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
	wait("after LISTEN")
	drain()

	start := time.Now()
	if err := db.SetSecret(t.Context(), "x", []byte{1}); err != nil {
		t.Fatal(err)
	}
	wait("after an event committed")
	t.Logf("woken %v after the commit began", time.Since(start))
	drain()

	// A failed change writes no event and notifies nothing.
	if err := db.DeleteVerificationKey(t.Context(), "nope", "nope"); err == nil {
		t.Fatal("deleting an unknown key succeeded")
	}
	quiet("by a change that failed")

	// Kill the listening connection, as an operator or a failover would.
	admin, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var killed int
	if err := admin.QueryRow(t.Context(), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
		postgres.ListenerName(os.Getpid())).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listening connections, %v; want 1", killed, err)
	}
	wait("after the connection was killed")
	// It is listening again: a new event wakes the node.
	deadline := time.Now().Add(10 * time.Second)
	for {
		drain()
		if err := db.SetSecret(t.Context(), "x", []byte{2}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wakes:
		case <-time.After(500 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("the listener did not listen again after its connection was killed")
			}
			continue
		}
		break
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	done <- nil
}
