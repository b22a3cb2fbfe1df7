// Package bounded is a map bounded by the bytes its entries cost, for
// caches whose misses are cheap to recover from (a signature check, a
// store read): a put that would take it past its bound first drops about a
// quarter of its entries, in map order (random enough for such caches).
// It is not synchronized: the caller locks.
//
// It is the one eviction that Gatehouse's caches share: the verified
// access tokens (token.Cache) and the session service's login, user and
// customer-token caches (internal/session). It lives outside internal/ so
// that the public token package can use it.
package bounded

import "iter"

// Map is a map bounded by bytes. size tells what an entry costs: its map
// slot and what only it references.
type Map[K comparable, V any] struct {
	maxBytes, bytes int
	size            func(K, V) int
	m               map[K]V
}

// New returns an empty map holding at most maxBytes, as size counts them.
func New[K comparable, V any](maxBytes int, size func(K, V) int) *Map[K, V] {
	return &Map[K, V]{maxBytes: maxBytes, size: size, m: make(map[K]V)}
}

// Get returns k's value, or the zero value.
func (b *Map[K, V]) Get(k K) V { return b.m[k] }

// Lookup returns k's value and whether it is there.
func (b *Map[K, V]) Lookup(k K) (V, bool) {
	v, ok := b.m[k]
	return v, ok
}

// Put sets k's value, first dropping about a quarter of the entries if
// the new one would take the map past its bound.
func (b *Map[K, V]) Put(k K, v V) {
	if old, ok := b.m[k]; ok {
		b.bytes -= b.size(k, old)
	}
	n := b.size(k, v)
	if b.bytes+n > b.maxBytes {
		drop := max(1, len(b.m)/4)
		for k, old := range b.m {
			if drop == 0 {
				break
			}
			b.bytes -= b.size(k, old)
			delete(b.m, k)
			drop--
		}
	}
	b.m[k] = v
	b.bytes += n
}

// Delete removes k.
func (b *Map[K, V]) Delete(k K) {
	if old, ok := b.m[k]; ok {
		b.bytes -= b.size(k, old)
		delete(b.m, k)
	}
}

// Clear removes every entry.
func (b *Map[K, V]) Clear() {
	b.m = make(map[K]V)
	b.bytes = 0
}

// Len returns the number of entries.
func (b *Map[K, V]) Len() int { return len(b.m) }

// Bytes returns the bytes the entries cost, as size counts them.
func (b *Map[K, V]) Bytes() int { return b.bytes }

// All yields every entry, in map order.
func (b *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, v := range b.m {
			if !yield(k, v) {
				return
			}
		}
	}
}
