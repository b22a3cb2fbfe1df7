package gatehouse

import "testing"

func TestParseOrigins(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"https://App.Example.com/, http://localhost:3000", "https://app.example.com http://localhost:3000", true},
		{"https://a.example\nhttps://a.example", "https://a.example", true},
		{"ftp://a.example", "", false},
		{"https://a.example/path", "", false},
		{"https://a.example?x=1", "", false},
		{"https://user@a.example", "", false},
		{"a.example", "", false},
		{"null", "", false},
		{"*", "", false},
	} {
		got, err := ParseOrigins(c.in)
		if (err == nil) != c.ok || string(got) != c.want {
			t.Errorf("ParseOrigins(%q) = %q, %v; want %q, ok %t", c.in, got, err, c.want, c.ok)
		}
	}
	o, _ := ParseOrigins("https://app.example, http://localhost:3000")
	for origin, want := range map[string]bool{"": true, "https://app.example": true, "HTTPS://APP.EXAMPLE": true, "http://localhost:3000": true,
		"https://evil.example": false, "null": false, "https://app.example.evil.example": false} {
		if o.Allows(origin) != want {
			t.Errorf("Allows(%q) = %t", origin, !want)
		}
	}
	if !Origins("").Allows("https://anything.example") {
		t.Error("an empty list must allow any origin")
	}
}
