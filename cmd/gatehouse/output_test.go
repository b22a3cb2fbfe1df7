package main

import (
	"strings"
	"testing"
)

// TestPrintHumanEmptyLists: an empty list beside other fields is a "-"
// row, not a stray "no allowedOrigins" line under the object; a list that
// is the whole answer still says "no sessions".
func TestPrintHumanEmptyLists(t *testing.T) {
	var b strings.Builder
	printHuman(&b, map[string]any{"appId": "a1", "name": "chat", "allowedOrigins": []any{}, "roles": []any{}})
	out := b.String()
	if strings.Contains(out, "no allowedOrigins") || strings.Contains(out, "no roles") {
		t.Fatalf("empty lists printed as tables:\n%s", out)
	}
	for _, want := range []string{"ALLOWED ORIGINS", "ROLES", "APP ID"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %s row:\n%s", want, out)
		}
	}

	b.Reset()
	printHuman(&b, map[string]any{"sessions": []any{}})
	if got := strings.TrimSpace(b.String()); got != "no sessions" {
		t.Fatalf("an empty list answer = %q, want %q", got, "no sessions")
	}

	b.Reset()
	printHuman(&b, map[string]any{"sessions": []any{map[string]any{"sessionId": "s1", "live": true}}})
	if out := b.String(); !strings.Contains(out, "SESSION ID") || !strings.Contains(out, "s1") {
		t.Fatalf("a list answer is a table:\n%s", out)
	}
}
