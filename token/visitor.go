package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Visitor signatures (secure visitor mode): the customer's backend proves
// that it let a device in as a visitor by signing the device id and an
// expiry with a visitor secret of the app.

// VisitorSignatureLen is the length of a visitor signature: lowercase hex
// of an HMAC-SHA256.
const VisitorSignatureLen = 2 * sha256.Size

// VisitorSignatureMessage is the signed text, with the device id and expiry
// exactly as they travel in the login request.
func VisitorSignatureMessage(deviceID, expiresAt string) string {
	return "deviceId=" + deviceID + "&authSignatureExpiresAt=" + expiresAt
}

// VisitorSignature returns the signature of a device id and expiry text
// under secret: lowercase hex of HMAC-SHA256(secret, message).
func VisitorSignature(secret []byte, deviceID, expiresAt string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(VisitorSignatureMessage(deviceID, expiresAt)))
	return hex.EncodeToString(m.Sum(nil))
}

// FormatVisitorExpiry formats a signature expiry as the SDKs send dates:
// ISO 8601, UTC, milliseconds.
func FormatVisitorExpiry(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// ParseVisitorExpiry parses authSignatureExpiresAt (ISO 8601 / RFC 3339,
// fractional seconds allowed).
func ParseVisitorExpiry(s string) (time.Time, error) {
	if len(s) > 64 {
		return time.Time{}, ErrMalformed
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.Join(ErrMalformed, err)
	}
	return t, nil
}

// CheckVisitorSignature reports whether sig is the signature of deviceID
// and expiresAt under one of secrets. The signature must be 64 hex digits
// (either case); the comparison is constant-time per secret, and every
// secret is tried, so the time taken does not say which one matched.
func CheckVisitorSignature(secrets [][]byte, deviceID, expiresAt, sig string) error {
	if len(sig) != VisitorSignatureLen {
		return ErrMalformed
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return ErrMalformed
	}
	msg := []byte(VisitorSignatureMessage(deviceID, expiresAt))
	ok := false
	for _, k := range secrets {
		m := hmac.New(sha256.New, k)
		m.Write(msg)
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	if !ok {
		return ErrSignature
	}
	return nil
}
