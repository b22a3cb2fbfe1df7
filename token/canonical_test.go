package token

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCanonicalCompact(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	good := enc([]byte(`{"alg":"EdDSA"}`)) + "." + enc([]byte(`{"a":1}`)) + "." + enc(make([]byte, 64))
	if !CanonicalCompact(good) {
		t.Fatalf("%s refused", good)
	}
	for name, s := range map[string]string{
		"padding":                good + "==",
		"LF":                     good[:5] + "\n" + good[5:],
		"CR":                     good[:5] + "\r" + good[5:],
		"space":                  good[:5] + " " + good[5:],
		"standard alphabet +":    "a+b." + good[4:],
		"unused bits of 1 byte":  "AB.AA.AA", // "AB" is 0x00 with a stray low bit
		"unused bits of 2 bytes": "AAB.AA.AA",
		"impossible length":      "AAAAA.AA.AA",
		"two segments":           "AA.AA",
		"four segments":          good + ".AA",
		"non-ASCII":              "ä" + good,
		"last character swapped": good[:len(good)-1] + "B", // 64 zero bytes end in "A"
	} {
		t.Run(name, func(t *testing.T) {
			if CanonicalCompact(s) {
				t.Fatalf("%q accepted", s)
			}
		})
	}
}

func TestNoDuplicateMembers(t *testing.T) {
	for in, dup := range map[string]bool{
		`{"a":1,"b":2}`:                       false,
		`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`: false,
		`{"a":1,"a":2}`:                       true,
		`{"u":{"x":1,"x":2}}`:                 true,
		`{"l":[{"x":1,"x":2}]}`:               true,
		`{"a":[],"b":{},"a":0}`:               true,
		`{"\u0061":1,"a":2}`:                  true, // the same name, escaped
	} {
		err := noDuplicateMembers([]byte(in))
		if (err != nil) != dup || (dup && !errors.Is(err, errDuplicate)) {
			t.Errorf("%s: %v, want duplicate=%v", in, err, dup)
		}
	}
}

func TestAuthTokenOtherSpellingsRefused(t *testing.T) {
	k, _ := NewAuthKey()
	tok, err := k.Mint("app1", "alice", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{
		"upper-case expiry": strings.ToUpper(tok[:7]) + tok[7:],
		"upper-case tag":    tok[:10] + strings.ToUpper(tok[10:]),
		"signed expiry":     "+" + tok[1:],
	} {
		if v == tok {
			continue
		}
		if err := k.Check("app1", "alice", v, t0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
}

func TestWellFormedJSONString(t *testing.T) {
	for lit, ok := range map[string]bool{
		`"plain"`:            true,
		`"\ud83d\ude00"`:     true,
		`"\ufffd"`:           true,
		"\"\xef\xbf\xbd\"":   true,
		`"a\\ud800"`:         true, // an escaped backslash, then text
		`"\"\ud83d\ude00\""`: true,
		`42`:                 true,
		`"\ud800"`:           false,
		`"\udfff"`:           false,
		`"\ude00\ud83d"`:     false,
		`"\ud800\u0041"`:     false,
		`"\ud800x"`:          false,
		`"\ud800\n"`:         false,
		"\"\xff\"":           false,
		"\"\xed\xa0\x80\"":   false, // a surrogate in UTF-8
		`"\u12"`:             false,
		`"\uzzzz"`:           false,
	} {
		if WellFormedJSONString([]byte(lit)) != ok {
			t.Errorf("%s: want %v", lit, ok)
		}
	}
}

// FuzzCanonicalCompact: whatever CanonicalCompact accepts decodes strictly
// and encodes back to the same text, segment by segment.
func FuzzCanonicalCompact(f *testing.F) {
	f.Add("eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.AAAA")
	f.Add("AB.AA.AA")
	f.Add("a\nb.c.d")
	f.Add("AA==.AA.AA")
	f.Fuzz(func(t *testing.T, s string) {
		if !CanonicalCompact(s) {
			return
		}
		for _, seg := range strings.SplitN(s, ".", 3) {
			b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
			if err != nil || base64.RawURLEncoding.EncodeToString(b) != seg {
				t.Fatalf("accepted %q: segment %q is not canonical (%v)", s, seg, err)
			}
		}
	})
}
