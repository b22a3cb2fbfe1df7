package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-auth/gatehouse/bounded"
)

// AccessType is the typ header of access tokens (RFC 9068). Other JWT kinds
// Gatehouse meets (customer-signed tokens) are verified with other keys and
// never with the ring, so one kind cannot pass for another.
const AccessType = "at+jwt"

// MaxTokenLen bounds what the verifier will parse at all.
const MaxTokenLen = 8 << 10

// UserClaim is the "user" claim the social.plus SDKs decode (wire spec §8.1).
// The SDK type also lists deviceInfo and refreshToken; no SDK reads them,
// and every byte here travels with every request, so they are left out
// (the session record keeps the device info).
type UserClaim struct {
	UserInternalID string `json:"userId"`       // internal id (_id)
	PublicUserID   string `json:"publicUserId"` // the customer's userId
	NetworkID      string `json:"networkId"`
}

// AccessClaims is the payload of an access token.
type AccessClaims struct {
	User      UserClaim `json:"user"`
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub"` // internal user id
	Audience  string    `json:"aud"` // app id
	SessionID string    `json:"sid"`
	// UserType is "signed-in", "visitor" or "bot", so that services
	// verifying tokens offline with the JWKS can tell read-only sessions
	// apart. Tokens issued before it existed lack it: read as signed-in.
	UserType  string `json:"userType,omitempty"`
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	// KeyID is the kid of the key that signed the token, from its header;
	// set by Verify, never part of the payload.
	KeyID string `json:"-"`
}

// Issued returns the iat and exp claims as times.
func (c *AccessClaims) Issued() (time.Time, time.Time) {
	return time.Unix(c.IssuedAt, 0).UTC(), time.Unix(c.ExpiresAt, 0).UTC()
}

// Sign signs claims with the ring's active key.
func (r *Ring) Sign(c *AccessClaims) (string, error) {
	// The compact serialization is built by hand around crypto/ed25519 rather
	// than through jose.NewSigner: the header is a constant per key, and
	// login is a hot path. go-jose parses and verifies it like any JWS.
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	hdr := r.signer.header()
	var b strings.Builder
	enc := base64.RawURLEncoding
	b.Grow(len(hdr) + enc.EncodedLen(len(payload)) + enc.EncodedLen(ed25519.SignatureSize) + 2)
	b.WriteString(hdr)
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(payload))
	sig := ed25519.Sign(r.signer.priv, []byte(b.String()))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(sig))
	return b.String(), nil
}

func (k *ringKey) header() string {
	h, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(jose.EdDSA), k.id, AccessType})
	return base64.RawURLEncoding.EncodeToString(h)
}

// Expectations are what Verify checks beyond the signature.
type Expectations struct {
	Issuer string
	Now    time.Time
}

// Verify checks an access token's form, signature, type and claims. It
// accepts only EdDSA with keys of the ring, selected by kid.
func (r *Ring) Verify(raw string, want Expectations) (*AccessClaims, error) {
	if len(raw) > MaxTokenLen || strings.Count(raw, ".") != 2 || !CanonicalCompact(raw) {
		return nil, ErrMalformed
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, errors.Join(ErrMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, ErrMalformed
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders["typ"].(string); typ != AccessType {
		return nil, errors.Join(ErrClaims, errors.New("wrong token type"))
	}
	k, ok := r.keys[h.KeyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	var c AccessClaims
	if err := tok.Claims(k.pub, &c); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, ErrSignature
		}
		return nil, errors.Join(ErrMalformed, err)
	}
	if err := checkAccessClaims(&c, want); err != nil {
		return nil, err
	}
	c.KeyID = k.id
	return &c, nil
}

func checkAccessClaims(c *AccessClaims, want Expectations) error {
	if c.Issuer != want.Issuer || c.Audience == "" || c.Subject == "" || c.SessionID == "" ||
		c.User.UserInternalID != c.Subject || c.User.NetworkID != c.Audience || c.User.PublicUserID == "" {
		return ErrClaims
	}
	if c.ExpiresAt <= 0 || c.IssuedAt <= 0 || c.IssuedAt > c.ExpiresAt {
		return ErrClaims
	}
	now := want.Now.Unix()
	if c.IssuedAt > now+Leeway {
		return ErrNotYetValid
	}
	if now >= c.ExpiresAt+Leeway {
		return ErrExpired
	}
	return nil
}

// Cache remembers tokens whose signature has been verified, so that the
// token validation hot path does no public-key operation for a token it has
// seen. Claims are re-checked against the clock on every hit; revocation is
// the caller's business. It is bounded by bytes; when full, a part is
// dropped.
//
// An entry costs about 250 bytes whatever the token's length (a token is
// about 450): it is keyed by the last 16 characters of the token's
// signature (92 random bits, which only a holder of the token knows), and
// a hit also needs the whole token's keyed 64-bit hash to match, so a
// token that differs anywhere is verified afresh. The claims are kept
// compacted: strings that must equal another (issuer, network id, the
// user claim's internal id) share one, audiences (app ids) are interned,
// and the jti, used by nothing after verification, is not kept. A
// different token that matched both key and hash (2^-64, and the hash's
// seed is secret) would get the claims of a token with its signature
// prefix — one its sender already holds.
type Cache struct {
	mu       sync.RWMutex
	seed     maphash.Seed
	entries  *bounded.Map[cacheKey, *cacheEntry]
	interned map[string]string // app ids, user types, key ids
}

const cacheKeyLen = 16

type cacheKey [cacheKeyLen]byte

type cacheEntry struct {
	sum    uint64 // keyed hash of the whole token
	claims AccessClaims
}

// entryOverhead is an entry's cost besides its own strings: the entry as
// allocated and its map slot (key, pointer and control byte, at the map's
// load factor).
const entryOverhead = int(unsafe.Sizeof(cacheEntry{})) + 32

func entrySize(_ cacheKey, e *cacheEntry) int {
	return entryOverhead + len(e.claims.Subject) + len(e.claims.SessionID) + len(e.claims.User.PublicUserID)
}

// maxInterned bounds the intern table (app ids, user types, key ids).
const maxInterned = 4096

// NewCache returns a cache holding at most maxBytes of tokens.
func NewCache(maxBytes int) *Cache {
	return &Cache{seed: maphash.MakeSeed(), entries: bounded.New(maxBytes, entrySize), interned: map[string]string{}}
}

// Verifier verifies access tokens against a ring through a cache.
type Verifier struct {
	Ring  func() *Ring
	Cache *Cache
}

// Verify is Ring.Verify with the cache in front. The claims returned are
// shared: do not modify them.
func (v *Verifier) Verify(raw string, want Expectations) (*AccessClaims, error) {
	k, keyed := cacheKeyOf(raw)
	var sum uint64
	if keyed {
		sum = maphash.Comparable(v.Cache.seed, raw)
		v.Cache.mu.RLock()
		e := v.Cache.entries.Get(k)
		v.Cache.mu.RUnlock()
		if e != nil && e.sum == sum {
			if err := checkAccessClaims(&e.claims, want); err != nil {
				return nil, err
			}
			return &e.claims, nil
		}
	}
	c, err := v.Ring().Verify(raw, want)
	if err != nil {
		return nil, err
	}
	if keyed {
		v.Cache.add(k, sum, c)
	}
	return c, nil
}

// cacheKeyOf is the key of a token: its last 16 characters, which in a
// token of ours are the signature's (about 92 random bits: the last
// character carries 2).
func cacheKeyOf(raw string) (cacheKey, bool) {
	var k cacheKey
	if len(raw) < 64 {
		return k, false
	}
	copy(k[:], raw[len(raw)-cacheKeyLen:])
	return k, true
}

func (c *Cache) add(k cacheKey, sum uint64, v *AccessClaims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A copy of every claim, with the strings that repeat across tokens
	// shared: equal ones made one, the few distinct ones (app ids, user
	// types, key ids) interned.
	e := &cacheEntry{sum: sum, claims: *v}
	cl := &e.claims
	cl.Audience = c.intern(v.Audience)
	cl.User.NetworkID = cl.Audience
	cl.User.UserInternalID = cl.Subject
	cl.UserType = c.intern(v.UserType)
	cl.KeyID = c.intern(v.KeyID)
	cl.ID = ""
	// When full, about a quarter is dropped, in map order: good enough
	// for a cache whose misses cost one signature check.
	c.entries.Put(k, e)
}

// intern returns the table's copy of x, adding x while there is room. The
// caller holds c.mu.
func (c *Cache) intern(x string) string {
	if y, ok := c.interned[x]; ok {
		return y
	}
	if len(c.interned) < maxInterned {
		c.interned[x] = x
	}
	return x
}

// Bytes returns the cache's size in bytes, as it counts them.
func (c *Cache) Bytes() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.entries.Bytes()
}

// Purge empties the cache, for when keys are withdrawn.
func (c *Cache) Purge() {
	c.mu.Lock()
	c.entries.Clear()
	c.mu.Unlock()
}

// IsAccessToken reports whether raw's header says it is a Gatehouse access
// token (typ at+jwt). It reads the header only and verifies nothing.
func IsAccessToken(raw string) bool {
	i := strings.IndexByte(raw, '.')
	if i <= 0 || i > 1024 || !canonicalSegment(raw[:i]) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw[:i])
	if err != nil {
		return false
	}
	var h struct {
		Typ string `json:"typ"`
	}
	return json.Unmarshal(b, &h) == nil && h.Typ == AccessType
}
