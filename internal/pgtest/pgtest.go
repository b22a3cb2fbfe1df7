// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is the one CI provides: 127.0.0.1:5432, user postgres, trust
// authentication; GATEHOUSE_TEST_POSTGRES overrides it with the URL of a
// database to connect to for creating others (the "postgres" database,
// usually). Each call creates a database with a unique name and drops it
// when the test ends. When CI=true an unreachable server fails the test;
// elsewhere it skips the test, saying why.
//
// It is imported only by tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is the server tests use unless GATEHOUSE_TEST_POSTGRES
// names another.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL tests connect to in order to create databases.
func AdminURL() string {
	if u := os.Getenv("GATEHOUSE_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// URL creates an empty database for the test and returns its URL. The
// database is dropped (closing any connection left to it) when the test
// and its subtests end.
func URL(t testing.TB) string {
	t.Helper()
	admin := AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable, and CI=true requires it: %v", redact(admin), err)
		}
		t.Skipf("skipping: PostgreSQL at %s is unreachable (%v); start it, or set GATEHOUSE_TEST_POSTGRES, to run this test (CI=true makes this a failure)", redact(admin), err)
	}
	defer conn.Close(context.Background())
	var b [8]byte
	rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
