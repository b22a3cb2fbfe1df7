package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Customer tokens are access tokens a customer's backend signs for its
// user, with a key the operator registered for the app (login with an
// access token, wire spec §8). Each registered key is bound to exactly one
// algorithm; the token's header never chooses a key or an algorithm beyond
// selecting among the registered ones by kid.

// CustomerAlgs are the algorithms customer keys may use.
var CustomerAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512, jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// ErrWeakSecret refuses HMAC secrets shorter than the hash or of obviously
// low entropy (RFC 7518 §3.2, RFC 8725 §3.5).
var ErrWeakSecret = errors.New("HMAC secret is too short or too predictable")

// CustomerKey verifies customer tokens.
type CustomerKey struct {
	ID  string // Gatehouse's id of the registered key; matched against kid too
	KID string // the key's own kid (JWK or JWKS entry), if any
	Alg jose.SignatureAlgorithm
	Key any // []byte for HMAC, else a public key
}

// AllowedAlg reports whether alg is one of CustomerAlgs.
func AllowedAlg(alg string) (jose.SignatureAlgorithm, bool) {
	for _, a := range CustomerAlgs {
		if string(a) == alg {
			return a, true
		}
	}
	return "", false
}

func hmacSize(alg jose.SignatureAlgorithm) int {
	switch alg {
	case jose.HS256:
		return 32
	case jose.HS384:
		return 48
	case jose.HS512:
		return 64
	}
	return 0
}

// HMACKey checks a shared secret for alg (HS256/384/512): at least as long
// as the hash output, and not a run of one repeated byte or another
// low-entropy pattern.
func HMACKey(id, alg string, secret []byte) (CustomerKey, error) {
	a, ok := AllowedAlg(alg)
	if !ok || hmacSize(a) == 0 {
		return CustomerKey{}, fmt.Errorf("%q is not an HMAC algorithm (HS256, HS384, HS512)", alg)
	}
	if len(secret) < hmacSize(a) || lowEntropy(secret) {
		return CustomerKey{}, fmt.Errorf("%w: %s needs at least %d random bytes", ErrWeakSecret, alg, hmacSize(a))
	}
	return CustomerKey{ID: id, Alg: a, Key: append([]byte(nil), secret...)}, nil
}

// WeakSecret reports whether b looks made up rather than drawn at random,
// by the test HMAC secrets must pass (the admin token must pass it too).
func WeakSecret(b []byte) bool { return lowEntropy(b) }

// lowEntropy spots secrets a person made up rather than drew at random:
// few distinct bytes, a repeated pattern ("password123password123…"), or
// under 3 bits of entropy per byte (random hex has 4, base64 6).
func lowEntropy(b []byte) bool {
	counts := map[byte]int{}
	for _, c := range b {
		counts[c]++
	}
	if len(counts) < 8 {
		return true
	}
	for p := 1; p <= len(b)/2; p++ {
		if bytes.Equal(b[p:], b[:len(b)-p]) {
			return true
		}
	}
	var bits float64
	for _, n := range counts {
		f := float64(n) / float64(len(b))
		bits -= f * math.Log2(f)
	}
	return bits < 3
}

// PublicKey parses a public key for alg from PEM (PUBLIC KEY, RSA PUBLIC
// KEY or CERTIFICATE) or a JWK, and checks that its type fits the
// algorithm: an RSA key for RS256/PS256 (2048 bits or more), P-256 for
// ES256, Ed25519 for EdDSA. Private keys are refused.
func PublicKey(id, alg string, material []byte) (CustomerKey, error) {
	a, ok := AllowedAlg(alg)
	if !ok || hmacSize(a) != 0 {
		return CustomerKey{}, fmt.Errorf("%q is not a public-key algorithm (RS256, PS256, ES256, EdDSA)", alg)
	}
	material = bytes.TrimSpace(material)
	var pub any
	var kid string
	switch {
	case bytes.HasPrefix(material, []byte("{")):
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(material); err != nil {
			return CustomerKey{}, fmt.Errorf("not a valid JWK: %w", err)
		}
		if !jwk.IsPublic() {
			return CustomerKey{}, errors.New("the JWK holds a private key: register the public key only")
		}
		if jwk.Algorithm != "" && jwk.Algorithm != alg {
			return CustomerKey{}, fmt.Errorf("the JWK says alg %s, not %s", jwk.Algorithm, alg)
		}
		pub, kid = jwk.Key, jwk.KeyID
	default:
		block, _ := pem.Decode(material)
		if block == nil {
			return CustomerKey{}, errors.New("not a PEM public key or a JWK")
		}
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
				pub = cert.PublicKey
			}
		default:
			return CustomerKey{}, fmt.Errorf("PEM block %q is not a public key (private keys are never registered)", block.Type)
		}
		if err != nil {
			return CustomerKey{}, fmt.Errorf("bad PEM public key: %w", err)
		}
	}
	if err := fits(a, pub); err != nil {
		return CustomerKey{}, err
	}
	return CustomerKey{ID: id, KID: kid, Alg: a, Key: pub}, nil
}

func fits(a jose.SignatureAlgorithm, pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if a != jose.RS256 && a != jose.PS256 {
			return fmt.Errorf("an RSA key cannot verify %s", a)
		}
		if k.N.BitLen() < 2048 {
			return errors.New("RSA keys must have at least 2048 bits")
		}
	case *ecdsa.PublicKey:
		if a != jose.ES256 || k.Curve != elliptic.P256() {
			return fmt.Errorf("an EC key on %s cannot verify %s (ES256 needs P-256)", k.Curve.Params().Name, a)
		}
	case ed25519.PublicKey:
		if a != jose.EdDSA {
			return fmt.Errorf("an Ed25519 key cannot verify %s", a)
		}
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
	return nil
}

// KeysFromJWKS reads a JWK Set. Entries that are symmetric ("oct"), hold
// private members, are meant for encryption, or whose algorithm is not
// allowed are skipped; an entry without "alg" gets the one its key type
// implies (RS256, ES256, EdDSA).
func KeysFromJWKS(id string, doc []byte) ([]CustomerKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	var out []CustomerKey
	for _, raw := range set.Keys {
		var jwk jose.JSONWebKey
		if jwk.UnmarshalJSON(raw) != nil || !jwk.IsPublic() || jwk.Use == "enc" {
			continue
		}
		alg := jwk.Algorithm
		if alg == "" {
			switch jwk.Key.(type) {
			case *rsa.PublicKey:
				alg = string(jose.RS256)
			case *ecdsa.PublicKey:
				alg = string(jose.ES256)
			case ed25519.PublicKey:
				alg = string(jose.EdDSA)
			}
		}
		a, ok := AllowedAlg(alg)
		if !ok || hmacSize(a) != 0 || fits(a, jwk.Key) != nil {
			continue
		}
		out = append(out, CustomerKey{ID: id, KID: jwk.KeyID, Alg: a, Key: jwk.Key})
	}
	return out, nil
}

// CustomerExpectations are what a customer token must meet beyond its
// signature.
type CustomerExpectations struct {
	Now      time.Time
	Issuer   string // checked when not empty
	Audience string // checked when not empty
	MaxTTL   time.Duration
}

// CustomerClaims is what Gatehouse takes from a verified customer token.
type CustomerClaims struct {
	PublicUserID string
	NetworkID    string
	Audience     []string
	IssuedAt     time.Time // zero when the token has no iat
	ExpiresAt    time.Time
}

// CustomerUser is the "user" claim of a customer token. VerifyCustomer
// takes the user from publicUserId, else userId.
type CustomerUser struct {
	UserID       string `json:"userId"`
	PublicUserID string `json:"publicUserId"`
	NetworkID    string `json:"networkId"`
}

// CustomerPayload is the claims set of a customer token (wire spec §8):
// what a customer's backend signs (mint.Signer builds it with
// NewCustomerPayload) and what VerifyCustomer reads. The dates stay raw so
// that VerifyCustomer can refuse anything but an integer NumericDate.
type CustomerPayload struct {
	User CustomerUser    `json:"user"`
	Iss  string          `json:"iss,omitempty"`
	Aud  jwt.Audience    `json:"aud,omitempty"`
	Exp  json.RawMessage `json:"exp,omitempty"`
	Iat  json.RawMessage `json:"iat,omitempty"`
	Nbf  json.RawMessage `json:"nbf,omitempty"`
	JTI  string          `json:"jti,omitempty"`
}

// NewCustomerPayload returns the claims of a customer token for userID of
// the app networkID, valid from iat to exp (whole seconds). Set Iss, Aud
// and JTI as needed.
func NewCustomerPayload(networkID, userID string, iat, exp time.Time) CustomerPayload {
	return CustomerPayload{
		User: CustomerUser{UserID: userID, PublicUserID: userID, NetworkID: networkID},
		Iat:  json.RawMessage(strconv.FormatInt(iat.Unix(), 10)),
		Exp:  json.RawMessage(strconv.FormatInt(exp.Unix(), 10)),
	}
}

// PeekNetwork reads, without verifying, which app a customer token names
// (user.networkId, else a single aud), so the caller can pick that app's
// keys. Nothing read here is trusted before VerifyCustomer.
func PeekNetwork(raw string) (string, error) {
	if len(raw) > MaxTokenLen || strings.Count(raw, ".") != 2 || !CanonicalCompact(raw) {
		return "", ErrMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if err != nil {
		return "", ErrMalformed
	}
	var p struct {
		User CustomerUser `json:"user"`
		Aud  any          `json:"aud"`
	}
	if json.Unmarshal(b, &p) != nil {
		return "", ErrMalformed
	}
	if p.User.NetworkID != "" {
		return p.User.NetworkID, nil
	}
	if s, ok := p.Aud.(string); ok && s != "" {
		return s, nil
	}
	return "", errors.Join(ErrClaims, errors.New("the token names no app (user.networkId or aud)"))
}

// VerifyCustomer verifies a customer token against an app's keys: the
// header's alg must be the algorithm of a registered key (selected by kid
// when there is one, else every key of that algorithm is tried), then exp
// (required), iat and nbf (not in the future), the lifetime (at most
// MaxTTL), iss and aud (when expected) and the user claim are checked.
// ErrUnknownKey means a kid matched no key (a JWKS may need refetching).
func VerifyCustomer(raw string, keys []CustomerKey, want CustomerExpectations) (*CustomerClaims, error) {
	if len(raw) > MaxTokenLen || strings.Count(raw, ".") != 2 || !CanonicalCompact(raw) {
		return nil, ErrMalformed
	}
	// go-jose refuses duplicate members where it decodes into a struct or
	// a map (the header's top level); the claims are decoded here, and the
	// whole header is checked, nested objects included.
	hdr, err := base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')])
	if err != nil {
		return nil, ErrMalformed
	}
	if err := noDuplicateMembers(hdr); err != nil {
		return nil, errors.Join(ErrMalformed, err)
	}
	tok, err := jwt.ParseSigned(raw, CustomerAlgs)
	if err != nil {
		return nil, errors.Join(ErrMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, ErrMalformed
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders["typ"].(string); typ == AccessType {
		// Gatehouse's own token kind is never a customer token.
		return nil, errors.Join(ErrClaims, errors.New("wrong token type"))
	}
	var candidates []CustomerKey
	kidMatched := false
	for _, k := range keys {
		if h.KeyID != "" && h.KeyID != k.KID && h.KeyID != k.ID {
			continue
		}
		kidMatched = true
		if string(k.Alg) == h.Algorithm {
			candidates = append(candidates, k)
		}
	}
	if h.KeyID != "" && !kidMatched {
		return nil, ErrUnknownKey
	}
	if len(candidates) == 0 {
		return nil, errors.Join(ErrSignature, fmt.Errorf("no registered %s key", h.Algorithm))
	}
	var payload []byte
	verified := false
	for _, k := range candidates {
		var m json.RawMessage
		if err := tok.Claims(k.Key, &m); err == nil {
			payload, verified = m, true
			break
		}
	}
	if !verified {
		return nil, ErrSignature
	}
	if err := noDuplicateMembers(payload); err != nil {
		return nil, errors.Join(ErrClaims, err)
	}
	return checkCustomerClaims(payload, want)
}

func checkCustomerClaims(payload []byte, want CustomerExpectations) (*CustomerClaims, error) {
	var p CustomerPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, errors.Join(ErrClaims, err)
	}
	exp, ok := numericDate(p.Exp)
	if !ok {
		return nil, errors.Join(ErrClaims, errors.New("exp must be an integer NumericDate"))
	}
	c := &CustomerClaims{PublicUserID: p.User.PublicUserID, NetworkID: p.User.NetworkID, Audience: p.Aud, ExpiresAt: time.Unix(exp, 0).UTC()}
	if c.PublicUserID == "" {
		c.PublicUserID = p.User.UserID
	}
	if c.PublicUserID == "" {
		return nil, errors.Join(ErrClaims, errors.New("user.publicUserId (or user.userId) is required"))
	}
	if strings.ContainsRune(c.PublicUserID, utf8.RuneError) {
		// Decoded from invalid UTF-8 or a lone surrogate? Then several
		// spellings would name one user: look at what was signed.
		var raw struct {
			User struct {
				UserID       json.RawMessage `json:"userId"`
				PublicUserID json.RawMessage `json:"publicUserId"`
			} `json:"user"`
		}
		if json.Unmarshal(payload, &raw) != nil || !WellFormedJSONString(raw.User.UserID) || !WellFormedJSONString(raw.User.PublicUserID) {
			return nil, errors.Join(ErrClaims, errors.New("the user id must be valid UTF-8, without lone surrogates"))
		}
	}
	now := want.Now.Unix()
	start := now
	if len(p.Iat) > 0 {
		iat, ok := numericDate(p.Iat)
		if !ok {
			return nil, errors.Join(ErrClaims, errors.New("iat must be an integer NumericDate"))
		}
		if iat > now+Leeway {
			return nil, ErrNotYetValid
		}
		c.IssuedAt, start = time.Unix(iat, 0).UTC(), iat
	}
	if len(p.Nbf) > 0 {
		nbf, ok := numericDate(p.Nbf)
		if !ok || nbf > now+Leeway {
			return nil, ErrNotYetValid
		}
	}
	if now >= exp+Leeway {
		return nil, ErrExpired
	}
	if exp-start > int64(want.MaxTTL/time.Second) {
		return nil, errors.Join(ErrClaims, fmt.Errorf("token lifetime exceeds the app's maximum of %s", want.MaxTTL))
	}
	if want.Issuer != "" && p.Iss != want.Issuer {
		return nil, errors.Join(ErrClaims, errors.New("wrong issuer"))
	}
	if want.Audience != "" && !p.Aud.Contains(want.Audience) {
		return nil, errors.Join(ErrClaims, errors.New("wrong audience"))
	}
	return c, nil
}

// numericDate parses an integer NumericDate: no strings, fractions,
// exponents, negative or out-of-range values.
func numericDate(raw json.RawMessage) (int64, bool) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || strings.ContainsAny(s, ".eE+-\"") {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > 1<<40 {
		return 0, false
	}
	return v, true
}
