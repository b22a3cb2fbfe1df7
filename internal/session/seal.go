package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/token"
)

// The server's own secrets — the signing keys' Ed25519 seeds and the
// auth-token HMAC key — are stored sealed with the seal key, as the
// customers' HMAC secrets are: AES-256-GCM, the key kept outside the
// database (issue 8 item 7: with a seed read from the database file anyone
// could sign access tokens for any user). A sealed value is sealedPrefix,
// the nonce and the ciphertext; the additional data names what the value
// is, so one sealed value cannot be moved into another's place.
//
// Stores written before sealing hold these values in plain text; Load
// seals them in place on the first start with a seal key (a data
// migration in Go, since SQL cannot reach the key).

var sealedPrefix = []byte("gatehouse-sealed-v1:")

// ErrSealKey reports that the seal key does not open the database's sealed
// data: a wrong key, or none.
var ErrSealKey = errors.New("the seal key does not open the sealed data in the database")

func isSealed(b []byte) bool { return bytes.HasPrefix(b, sealedPrefix) }

func serverAD(purpose string) []byte { return []byte("gatehouse " + purpose) }

// sealServer seals one of the server's own secrets. Without a seal key
// (tests and embedding; gatehouse serve always has one) it is stored as
// it is.
func (s *Service) sealServer(plain []byte, purpose string) []byte {
	if s.sealer == nil {
		return plain
	}
	nonce := make([]byte, s.sealer.NonceSize())
	rand.Read(nonce)
	out := append(append([]byte(nil), sealedPrefix...), nonce...)
	return s.sealer.Seal(out, nonce, plain, serverAD(purpose))
}

// openServer opens a value written by sealServer, or returns a plain one
// as it is (sealed reports which).
func (s *Service) openServer(b []byte, purpose string) (plain []byte, sealed bool, err error) {
	if !isSealed(b) {
		return b, false, nil
	}
	if s.sealer == nil {
		return nil, true, fmt.Errorf("%s: %w (no seal key given)", purpose, ErrSealKey)
	}
	b = b[len(sealedPrefix):]
	n := s.sealer.NonceSize()
	if len(b) < n {
		return nil, true, fmt.Errorf("%s: sealed value too short: %w", purpose, ErrSealKey)
	}
	p, err := s.sealer.Open(nil, b[:n], b[n:], serverAD(purpose))
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", purpose, ErrSealKey)
	}
	return p, true, nil
}

func seedPurpose(kid string) string { return "signing key seed " + kid }

const authKeyPurpose = "auth-token key"

// seedSetter is implemented by stores that may hold signing-key seeds from
// before sealing (SQLite); Load seals those in place through it.
type seedSetter interface {
	SetSigningKeySeed(ctx context.Context, id string, seed []byte) error
}

// openSigningKeys unseals the seeds of keys read from the store. With
// migrate, plain seeds are sealed in place.
func (s *Service) openSigningKeys(ctx context.Context, keys []token.SigningKey, migrate bool) error {
	for i := range keys {
		k := &keys[i]
		plain, sealed, err := s.openServer(k.Seed, seedPurpose(k.ID))
		if err != nil {
			return err
		}
		if !sealed && migrate && s.sealer != nil {
			ss, ok := s.store.(seedSetter)
			if !ok {
				return fmt.Errorf("signing key %s is stored in plain text and this store cannot seal it", k.ID)
			}
			if err := ss.SetSigningKeySeed(ctx, k.ID, s.sealServer(plain, seedPurpose(k.ID))); err != nil {
				return fmt.Errorf("seal signing key %s: %w", k.ID, err)
			}
			s.log.Info("sealed a signing key stored in plain text by an earlier version", "kid", k.ID)
		}
		k.Seed = plain
	}
	return nil
}

// loadAuthKey reads the auth-token key, creating it on first start and
// sealing one stored in plain text by an earlier version.
func (s *Service) loadAuthKey(ctx context.Context) (token.AuthKey, error) {
	fresh, err := token.NewAuthKey()
	if err != nil {
		return nil, err
	}
	stored, err := s.store.PutSecretIfAbsent(ctx, secretAuthKey, s.sealServer(fresh, authKeyPurpose))
	if err != nil {
		return nil, fmt.Errorf("load auth-token key: %w", err)
	}
	ak, sealed, err := s.openServer(stored, authKeyPurpose)
	if err != nil {
		return nil, err
	}
	if len(ak) < 32 {
		return nil, errors.New("auth-token key in the store is shorter than 32 bytes")
	}
	if !sealed && s.sealer != nil {
		if err := s.store.SetSecret(ctx, secretAuthKey, s.sealServer(ak, authKeyPurpose)); err != nil {
			return nil, fmt.Errorf("seal auth-token key: %w", err)
		}
		s.log.Info("sealed the auth-token key stored in plain text by an earlier version")
	}
	return ak, nil
}

// HoldsSealedData reports whether st holds anything sealed with a seal key:
// the server's own keys (once any version that seals them has started on
// it) or customers' HMAC secrets. gatehouse serve refuses to generate a
// new seal key over such a store: it could never open that data again.
func HoldsSealedData(ctx context.Context, st store.Store) (bool, error) {
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if isSealed(k.Seed) {
			return true, nil
		}
	}
	ak, err := st.Secret(ctx, secretAuthKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if isSealed(ak) {
		return true, nil
	}
	vkeys, err := st.AllVerificationKeys(ctx)
	if err != nil {
		return false, err
	}
	for _, k := range vkeys {
		if k.Kind == gatehouse.KeyHMAC {
			return true, nil
		}
	}
	return false, nil
}
