// Package token mints and verifies the credentials Gatehouse issues:
// access tokens (EdDSA-signed JWTs carrying the social.plus payload),
// secure-mode auth tokens (short HMAC-bound strings), the public JWKS of
// the signing key ring, and secure visitor signatures (HMAC-SHA256 over the
// device id and expiry, checked in constant time against each live visitor
// secret); and it verifies customer-signed access tokens, whose claims
// (CustomerPayload) it defines for both the signer (package mint) and the
// verifier.
//
// It does no I/O and knows nothing about sessions or storage: callers hand
// it keys and a clock. Verification accepts only the algorithm each key is
// bound to, never takes key material from the token, and reports failures as
// the sentinel errors below, joined so that errors.Is matches each.
package token

import "errors"

// Verification failures.
var (
	ErrMalformed   = errors.New("token is malformed")
	ErrSignature   = errors.New("token signature is invalid")
	ErrUnknownKey  = errors.New("token is signed by an unknown key")
	ErrExpired     = errors.New("token has expired")
	ErrNotYetValid = errors.New("token is not valid yet")
	ErrClaims      = errors.New("token claims are invalid")
)

// Leeway is the clock skew tolerated on exp, iat and nbf (RFC 8725: small).
const Leeway = 60
