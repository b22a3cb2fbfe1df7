package bounded

import (
	"strings"
	"testing"
)

func strCost(k, v string) int { return len(k) + len(v) }

func recount(b *Map[string, string]) int {
	n := 0
	for k, v := range b.All() {
		n += strCost(k, v)
	}
	return n
}

// The bound holds, what is counted is what is held, and a put past the
// bound drops about a quarter of the entries, never the new one.
func TestMapBoundedByBytes(t *testing.T) {
	b := New(1000, strCost)
	for i := range 500 {
		k := strings.Repeat("k", 1+i%7) + string(rune('a'+i%26)) + string(rune('A'+i/26))
		b.Put(k, "0123456789")
		if b.Bytes() > 1000 {
			t.Fatalf("put %d: %d bytes, bound 1000", i, b.Bytes())
		}
		if got := recount(b); got != b.Bytes() {
			t.Fatalf("put %d: counts %d bytes, holds %d", i, b.Bytes(), got)
		}
		if v, ok := b.Lookup(k); !ok || v != "0123456789" {
			t.Fatalf("put %d: the new entry is gone", i)
		}
	}
	if b.Bytes() < 500 {
		t.Errorf("evicted down to %d bytes: more than a quarter dropped", b.Bytes())
	}
}

func TestMapReplaceDeleteClear(t *testing.T) {
	b := New(100, strCost)
	b.Put("a", "xx")
	b.Put("a", "xxxxx") // replacing recounts, not adds
	if b.Bytes() != 6 || b.Len() != 1 || b.Get("a") != "xxxxx" {
		t.Fatalf("after replace: %d bytes, %d entries, a=%q", b.Bytes(), b.Len(), b.Get("a"))
	}
	b.Put("b", "y")
	b.Delete("a")
	b.Delete("missing")
	if b.Bytes() != 2 || b.Len() != 1 || b.Get("a") != "" {
		t.Fatalf("after delete: %d bytes, %d entries", b.Bytes(), b.Len())
	}
	b.Clear()
	if b.Bytes() != 0 || b.Len() != 0 {
		t.Fatalf("after clear: %d bytes, %d entries", b.Bytes(), b.Len())
	}
	if _, ok := b.Lookup("b"); ok {
		t.Error("clear kept b")
	}
}
