package session_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// loggedOut writes a store at path with n users logged in and then logged
// out, and returns their (revoked) access tokens.
func loggedOut(t *testing.T, path string, n int) []string {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	svc := session.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), session.Config{SealKey: testenv.SealKey})
	if err := svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, key, err := svc.CreateApp(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for i := range n {
		res, err := svc.Login(t.Context(), key, &session.LoginInput{UserID: fmt.Sprint("user", i), DeviceID: fmt.Sprint("device", i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Logout(t.Context(), res.AccessToken.Reveal()); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, res.AccessToken.Reveal())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return toks
}

// indexPage checkpoints the WAL into the file and returns the byte offset of
// the index's root page (a leaf, at this size), and the page size.
func indexPage(t *testing.T, path, index string) (int64, int) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var root, size int
	if _, err := raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow("SELECT rootpage FROM sqlite_master WHERE name = ?", index).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	return int64(root-1) * int64(size), size
}

func patchPage(t *testing.T, path string, off int64, size int, patch func(page []byte)) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, size)
	if _, err := f.ReadAt(page, off); err != nil {
		t.Fatal(err)
	}
	if page[0] != 0x0a {
		t.Fatalf("page at %d is not an index leaf (type %#x)", off, page[0])
	}
	patch(page)
	if _, err := f.WriteAt(page, off); err != nil {
		t.Fatal(err)
	}
}

// Issue 8 item 6, as the attack run did it: zeroing two bytes of the
// sessions_revoked index leaf (its cell count) made all 150 logged-out
// tokens answer 200 after a restart, with no error at start. Now the store
// refuses to open, saying the file is damaged.
func TestDamagedRevocationIndexRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	loggedOut(t, path, 150)
	off, size := indexPage(t, path, "sessions_revoked")
	patchPage(t, path, off, size, func(p []byte) { p[3], p[4] = 0, 0 })

	db, err := sqlite.Open(context.Background(), path)
	if err == nil {
		db.Close()
		t.Fatal("a damaged database opened")
	}
	if !errors.Is(err, sqlite.ErrDamaged) || !strings.Contains(err.Error(), "quick_check") || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("error does not say the file is damaged: %v", err)
	}
}

// Damage that the structural check cannot see — index keys changed so
// that the index says every revoked session expired long ago, in an order
// that is still valid — must not hide a revocation either: the revocation
// state is loaded by scanning the table, not through the index.
func TestLyingRevocationIndexCannotHideRevocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	toks := loggedOut(t, path, 150)
	off, size := indexPage(t, path, "sessions_revoked")
	patchPage(t, path, off, size, func(p []byte) {
		n := int(binary.BigEndian.Uint16(p[3:]))
		for i := range n {
			c := int(binary.BigEndian.Uint16(p[8+2*i:]))
			_, k := sqliteVarint(p[c:]) // payload size
			c += k
			hdrLen, k := sqliteVarint(p[c:])
			st, _ := sqliteVarint(p[c+k:])
			body := c + int(hdrLen)
			clear(p[body : body+serialSize(st)]) // expires_at := 0
		}
	})

	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("the structural check should pass here: %v", err)
	}
	defer db.Close()
	svc := session.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), session.Config{SealKey: testenv.SealKey})
	if err := svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, tok := range toks {
		if _, err := svc.Authenticate(t.Context(), tok); err == nil {
			t.Fatalf("logged-out token %d accepted after the index was damaged", i)
		}
	}
}

// sqliteVarint reads SQLite's big-endian varint.
func sqliteVarint(b []byte) (uint64, int) {
	var v uint64
	for i := range 8 {
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return v<<8 | uint64(b[8]), 9
}

func serialSize(st uint64) int {
	switch st {
	case 1, 2, 3, 4:
		return int(st)
	case 5:
		return 6
	case 6, 7:
		return 8
	}
	panic(fmt.Sprintf("serial type %d is not an integer", st))
}
