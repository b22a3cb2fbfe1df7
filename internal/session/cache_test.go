package session

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/bounded"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// Every cache is bounded by bytes, not only by entries (issue 8 item 3):
// with long user ids, display names and device ids, the caches of a
// service given 512 KiB stay within their shares of it, and what they count
// is what they hold.
func TestCachesBoundedByBytes(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const budget = 512 << 10
	s := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{CacheBytes: budget})
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, key, err := s.CreateApp(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("n", 100)
	for i := range 1500 {
		id := fmt.Sprintf("%050d", i)
		res, err := s.Login(t.Context(), key, &LoginInput{UserID: id, DisplayName: &name, DeviceID: strings.Repeat("d", 140) + fmt.Sprint(i),
			DeviceInfo: gatehouse.DeviceInfo{Kind: "web", Model: strings.Repeat("m", 3000)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(t.Context(), res.AccessToken.Reveal()); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, c := range map[string]struct{ bytes, max, counted int }{
		"user snapshots": {s.userSnaps.Bytes(), budget / 3, recount(s.userSnaps, userSnapSize)},
		"devices":        {s.devices.Bytes(), budget / 6, recount(s.devices, deviceSize)},
		"tokens":         {s.verifier.Cache.Bytes(), budget / 3, s.verifier.Cache.Bytes()},
	} {
		if c.bytes > c.max || c.bytes != c.counted || c.bytes < c.max/2 {
			t.Errorf("%s: %d bytes (recounted %d), bound %d", name, c.bytes, c.counted, c.max)
		}
	}
	// An entry's count is close to what it holds: a 50-byte id and a
	// 100-byte name, not the 3,000-byte device info.
	for id, u := range s.userSnaps.All() {
		if n := userSnapSize(id, u); n < 300 || n > 500 {
			t.Fatalf("a user snapshot counts %d bytes", n)
		}
		break
	}
}

func recount[K comparable, V any](b *bounded.Map[K, V], size func(K, V) int) int {
	n := 0
	for k, v := range b.All() {
		n += size(k, v)
	}
	return n
}
