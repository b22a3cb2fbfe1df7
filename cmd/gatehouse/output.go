package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode"
)

// columnOrder puts the fields an operator looks for first; other fields
// follow alphabetically in FIELD VALUE output and stay out of tables (they
// are in --json).
var columnOrder = []string{
	"appId", "kid", "keyId", "secretId", "apiKey", "serverKey", "visitorSecret", "sessionId", "userId", "name", "displayName", "kind", "alg",
	"active", "live", "secureMode", "visitors", "bots", "deviceId", "isGlobalBan", "isDeleted",
	"accessTokenTTL", "authTokenTTL", "jwksUrl",
	"createdAt", "lastLoginAt", "expiresAt", "revokedAt", "retiredAt", "deletedAt",
}

// printHuman prints an object as aligned FIELD VALUE rows, its lists as
// aligned tables. An empty list is a "-" row beside other fields (an app's
// empty allowedOrigins, a user's roles), and "no sessions" only when the
// list is all there is to show.
func printHuman(w io.Writer, obj map[string]any) {
	var scalars, lists, empty []string
	for k, v := range obj {
		l, ok := v.([]any)
		switch {
		case ok && len(l) == 0:
			empty = append(empty, k)
		case ok && isObject(l[0]):
			lists = append(lists, k)
		default:
			scalars = append(scalars, k)
		}
	}
	if len(scalars) > 0 || len(lists) > 0 {
		scalars = append(scalars, empty...)
	} else {
		lists = empty
	}
	sortFields(scalars)
	sort.Strings(lists)
	if len(scalars) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, k := range scalars {
			fmt.Fprintf(tw, "%s\t%s\n", header(k), cell(obj[k]))
		}
		tw.Flush()
	}
	for i, k := range lists {
		if i > 0 || len(scalars) > 0 {
			fmt.Fprintln(w)
		}
		printTable(w, k, obj[k].([]any))
	}
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

func printTable(w io.Writer, name string, rows []any) {
	if len(rows) == 0 {
		fmt.Fprintf(w, "no %s\n", name)
		return
	}
	seen := map[string]bool{}
	for _, r := range rows {
		for k := range r.(map[string]any) {
			seen[k] = true
		}
	}
	var cols []string
	for _, k := range columnOrder {
		if seen[k] {
			cols = append(cols, k)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hs := make([]string, len(cols))
	for i, c := range cols {
		hs[i] = header(c)
	}
	fmt.Fprintln(tw, strings.Join(hs, "\t"))
	for _, r := range rows {
		m := r.(map[string]any)
		cs := make([]string, len(cols))
		for i, c := range cols {
			cs[i] = cell(m[c])
		}
		fmt.Fprintln(tw, strings.Join(cs, "\t"))
	}
	tw.Flush()
}

// sortFields orders field names: columnOrder first, then alphabetically.
func sortFields(fs []string) {
	rank := func(s string) int {
		if i := slices.Index(columnOrder, s); i >= 0 {
			return i
		}
		return len(columnOrder)
	}
	sort.Slice(fs, func(i, j int) bool {
		ri, rj := rank(fs[i]), rank(fs[j])
		if ri != rj {
			return ri < rj
		}
		return fs[i] < fs[j]
	})
}

// header turns a JSON field name into a column header: accessTokenTTL is
// ACCESS TOKEN TTL.
func header(k string) string {
	var b strings.Builder
	rs := []rune(strings.TrimPrefix(k, "_"))
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// cell formats a value for a table: "-" for nothing, compact JSON for
// objects and lists.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case bool, float64:
		return fmt.Sprint(x)
	case []any:
		if len(x) == 0 {
			return "-"
		}
	case map[string]any:
		if len(x) == 0 {
			return "-"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// toMap turns a JSON-tagged value into the map result.print takes.
func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}
