package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Auth tokens are what a customer's backend gets from
// POST /api/v4/authentication/token and the app passes to login in secure
// mode. They keep the social.plus shape (10 alphanumerics, then 32 lowercase
// hex digits) and are stateless: the first seven characters are the expiry
// in base 36, then three random characters, then a 128-bit HMAC-SHA-256 tag
// binding app, user and expiry. A token may be used more than once within
// its lifetime (the SDKs never reuse one, and a retried login must not fail).

// AuthTokenLen is the length of an auth token.
const AuthTokenLen = 42

const authTokenDomain = "gatehouse auth token v1"

// AuthKey is the secret that binds auth tokens; at least 32 bytes.
type AuthKey []byte

// NewAuthKey generates an AuthKey from crypto/rand.
func NewAuthKey() (AuthKey, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Mint returns an auth token for userID of appID, valid until exp.
func (k AuthKey) Mint(appID, userID string, exp time.Time) (string, error) {
	var nb [3]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return "", err
	}
	e := strconv.FormatInt(exp.Unix(), 36)
	if len(e) > 7 {
		return "", errors.New("expiry out of range")
	}
	prefix := strings.Repeat("0", 7-len(e)) + e
	for _, b := range nb {
		prefix += string(alnum[int(b)%len(alnum)])
	}
	return prefix + hex.EncodeToString(k.tag(appID, userID, prefix)), nil
}

func (k AuthKey) tag(appID, userID, prefix string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(authTokenDomain))
	for _, s := range []string{appID, userID, prefix} {
		m.Write([]byte{0})
		m.Write([]byte(s))
	}
	return m.Sum(nil)[:16]
}

// Check verifies an auth token for userID of appID at now. Surrounding
// double quotes are tolerated: the social.plus docs render the token quoted.
func (k AuthKey) Check(appID, userID, tok string, now time.Time) error {
	tok = strings.TrimSuffix(strings.TrimPrefix(tok, `"`), `"`)
	if len(tok) != AuthTokenLen {
		return ErrMalformed
	}
	prefix, mac := tok[:10], tok[10:]
	// Only the form Mint writes: base-36 lowercase expiry, alphanumerics,
	// lowercase hex. strconv and encoding/hex would also take other
	// spellings (a sign, upper case) of the same values.
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || i >= 7 && 'A' <= c && c <= 'Z') {
			return ErrMalformed
		}
	}
	got, err := hex.DecodeString(mac)
	if err != nil || strings.ToLower(mac) != mac {
		return ErrMalformed
	}
	if !hmac.Equal(got, k.tag(appID, userID, prefix)) {
		return ErrSignature
	}
	exp, err := strconv.ParseInt(prefix[:7], 36, 64)
	if err != nil {
		return ErrMalformed
	}
	if now.Unix() >= exp {
		return ErrExpired
	}
	return nil
}
