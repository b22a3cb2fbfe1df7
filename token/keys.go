package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// SigningKey is one Ed25519 key of the ring. The seed is the private part;
// it is kept by the store and never leaves the server.
type SigningKey struct {
	ID        string // kid
	Seed      []byte // ed25519.SeedSize bytes
	CreatedAt time.Time
	// RetiredAt is when the key stopped signing; it still verifies tokens
	// until every token it signed has expired. Zero while active.
	RetiredAt time.Time
}

// NewSigningKey generates a key from crypto/rand.
func NewSigningKey(now time.Time) (SigningKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return SigningKey{}, err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return SigningKey{}, err
	}
	return SigningKey{ID: hex.EncodeToString(id), Seed: seed, CreatedAt: now.UTC()}, nil
}

type ringKey struct {
	id   string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// Ring is an immutable set of signing keys: the newest active key signs,
// every key verifies. Build a new Ring to rotate.
type Ring struct {
	signer *ringKey
	keys   map[string]*ringKey
	jwks   []byte
}

// NewRing builds a ring. At least one key must be active.
func NewRing(keys []SigningKey) (*Ring, error) {
	r := &Ring{keys: make(map[string]*ringKey, len(keys))}
	var set jose.JSONWebKeySet
	var newest time.Time
	for _, k := range keys {
		if len(k.Seed) != ed25519.SeedSize || k.ID == "" {
			return nil, fmt.Errorf("signing key %q: bad key material", k.ID)
		}
		priv := ed25519.NewKeyFromSeed(k.Seed)
		rk := &ringKey{id: k.ID, priv: priv, pub: priv.Public().(ed25519.PublicKey)}
		r.keys[k.ID] = rk
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: rk.pub, KeyID: k.ID, Algorithm: string(jose.EdDSA), Use: "sig"})
		if k.RetiredAt.IsZero() && (r.signer == nil || k.CreatedAt.After(newest)) {
			r.signer, newest = rk, k.CreatedAt
		}
	}
	if r.signer == nil {
		return nil, fmt.Errorf("key ring has no active signing key")
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	r.jwks = b
	return r, nil
}

// JWKS returns the public keys as a JSON Web Key Set document.
func (r *Ring) JWKS() []byte { return r.jwks }

// SignerID returns the kid of the key that signs new tokens.
func (r *Ring) SignerID() string { return r.signer.id }

// KeyIDs returns the kids of every key of the ring.
func (r *Ring) KeyIDs() []string {
	ids := make([]string, 0, len(r.keys))
	for id := range r.keys {
		ids = append(ids, id)
	}
	return ids
}

// HasKey reports whether the ring verifies tokens of key kid.
func (r *Ring) HasKey(kid string) bool {
	_, ok := r.keys[kid]
	return ok
}
