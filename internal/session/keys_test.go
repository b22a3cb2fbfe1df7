package session

import "testing"

// Cache keys scoped to an app must separate the app id from the id with a
// byte neither can hold: a printable separator such as the four characters
// `\x00` would let ("a\x00b", "c") and ("a", "b\x00c") share a key.
func TestAppScopedKeySeparates(t *testing.T) {
	if k := appScopedKey("app", "alice"); k != "app\x00alice" {
		t.Fatalf("appScopedKey = %q, want the app id, a NUL byte, the id", k)
	}
	if appScopedKey(`a\x00b`, "c") == appScopedKey("a", `b\x00c`) {
		t.Fatal("two (app, id) pairs share a cache key")
	}
}
