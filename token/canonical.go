package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Base64url has more than one text for the same bytes: Go's decoders (and
// go-jose's) ignore CR and LF, go-jose strips "=" padding, and the unused
// low bits of the last character are not checked, so "…A" and "…B" can
// decode to the same signature. Anything keyed on a token's text —
// revocation lists, caches — would then see two tokens where there is one.
// Every token Gatehouse reads must therefore be in the one canonical form
// of RFC 7515 §2 / RFC 4648 §3.5: unpadded base64url, no whitespace, and
// unused trailing bits zero.

// b64 maps a base64url character to its 6-bit value, everything else to
// 0xff.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// canonicalSegment reports whether s is canonical unpadded base64url.
func canonicalSegment(s string) bool {
	for i := 0; i < len(s); i++ {
		if b64[s[i]] == 0xff {
			return false
		}
	}
	switch len(s) % 4 {
	case 1: // never the length of an encoding
		return false
	case 2: // one byte: the last character carries 2 bits, 4 unused
		return b64[s[len(s)-1]]&0x0f == 0
	case 3: // two bytes: the last character carries 4 bits, 2 unused
		return b64[s[len(s)-1]]&0x03 == 0
	}
	return true
}

// CanonicalCompact reports whether raw is a JWS in compact form whose
// three segments are each canonical unpadded base64url (RFC 7515 §2,
// §7.1). It runs before any decoding, on every token the server reads.
func CanonicalCompact(raw string) bool {
	i := strings.IndexByte(raw, '.')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(raw[i+1:], '.')
	if j < 0 {
		return false
	}
	j += i + 1
	return canonicalSegment(raw[:i]) && canonicalSegment(raw[i+1:j]) && canonicalSegment(raw[j+1:])
}

// SignedContentDigest returns the SHA-256 of a canonical compact JWS's
// signing input (header.payload). It names what a token says rather than
// its text, for revocation: with canonical encoding enforced the text of
// header and payload cannot vary, and leaving the signature out means a
// second valid signature over the same content — ECDSA's (r, n−s), or a
// re-signing by the customer's backend — is the same token.
func SignedContentDigest(raw string) [32]byte {
	i := strings.LastIndexByte(raw, '.')
	if i < 0 {
		i = len(raw)
	}
	return sha256.Sum256([]byte(raw[:i]))
}

// errDuplicate is wrapped with the duplicated member's name.
var errDuplicate = errors.New("duplicate JSON member")

// noDuplicateMembers refuses JSON with a member name repeated within one
// object, at any depth: encoding/json keeps the last one, other parsers the
// first, so a duplicated "user" or "exp" would mean different things to
// different readers (RFC 7515 §5.2, RFC 8259 §4).
func noDuplicateMembers(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	// Each open container: nil for an array, the member names seen so far
	// for an object.
	var stack []map[string]bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, map[string]bool{})
				expectKey = true
				continue
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if expectKey {
				seen := stack[len(stack)-1]
				if seen[t] {
					return fmt.Errorf("%w %q", errDuplicate, t)
				}
				seen[t] = true
				expectKey = false
				continue
			}
		}
		// After a value: the next token is a key if we are in an object.
		expectKey = len(stack) > 0 && stack[len(stack)-1] != nil
	}
}

// WellFormedJSONString reports whether lit, a JSON value as it was sent, is
// not a string, or is a string of valid UTF-8 whose \u escapes pair their
// surrogates. encoding/json decodes invalid UTF-8 and lone surrogates to
// U+FFFD without an error, so ids that differ on the wire would otherwise
// compare equal once decoded.
func WellFormedJSONString(lit []byte) bool {
	if len(lit) == 0 || lit[0] != '"' {
		return true
	}
	if !utf8.Valid(lit) {
		return false
	}
	high := false // a high surrogate escape waits for its low half
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' || i+1 >= len(lit) || lit[i+1] != 'u' {
			if high {
				return false
			}
			if lit[i] == '\\' {
				i++ // an escaped character, whatever it is
			}
			continue
		}
		if i+6 > len(lit) {
			return false
		}
		v, err := strconv.ParseUint(string(lit[i+2:i+6]), 16, 16)
		if err != nil {
			return false
		}
		i += 5
		switch {
		case v >= 0xd800 && v < 0xdc00:
			if high {
				return false
			}
			high = true
		case v >= 0xdc00 && v < 0xe000:
			if !high {
				return false
			}
			high = false
		case high:
			return false
		}
	}
	return !high
}
