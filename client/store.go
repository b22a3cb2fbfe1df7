package client

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// SavedSession is what a SessionStore keeps.
type SavedSession struct {
	Endpoint    string    `json:"endpoint"`
	APIKeyID    string    `json:"apiKeyId"` // a digest of the API key, not the key
	DeviceID    string    `json:"deviceId"`
	UserID      string    `json:"userId"`
	InternalID  string    `json:"internalId"`
	Path        string    `json:"path"`
	LoginType   string    `json:"loginType"`
	UserType    string    `json:"userType,omitempty"` // signed-in when empty
	AccessToken string    `json:"accessToken"`
	IssuedAt    time.Time `json:"issuedAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// SessionStore keeps one saved session. Implementations must be safe for
// concurrent use. Load returns (nil, nil) when nothing is saved. Apps can
// implement it over an OS keychain.
type SessionStore interface {
	Load(ctx context.Context) (*SavedSession, error)
	Save(ctx context.Context, s SavedSession) error
	Clear(ctx context.Context) error
}

// MemoryStore is a SessionStore in memory, for tests and short-lived tools.
type MemoryStore struct {
	mu sync.Mutex
	s  *SavedSession
}

// Load returns the saved session.
func (m *MemoryStore) Load(context.Context) (*SavedSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s == nil {
		return nil, nil
	}
	s := *m.s
	return &s, nil
}

// Save saves s.
func (m *MemoryStore) Save(_ context.Context, s SavedSession) error {
	m.mu.Lock()
	m.s = &s
	m.mu.Unlock()
	return nil
}

// Clear forgets the saved session.
func (m *MemoryStore) Clear(context.Context) error {
	m.mu.Lock()
	m.s = nil
	m.mu.Unlock()
	return nil
}

// FileStore keeps the session in one file, encrypted with AES-256-GCM under
// a key the app provides (from an OS keychain or its own secret store),
// written atomically with mode 0600.
type FileStore struct {
	path string
	aead cipher.AEAD
	mu   sync.Mutex
}

// NewFileStore returns a store at path with a 32-byte key.
func NewFileStore(path string, key []byte) (*FileStore, error) {
	if len(key) != 32 {
		return nil, errors.New("client: FileStore needs a 32-byte key")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &FileStore{path: path, aead: aead}, nil
}

var fileStoreAD = []byte("gatehouse client session v1")

// Load reads and decrypts the file; a missing file is no session, a file
// that does not decrypt is an error.
func (f *FileStore) Load(context.Context) (*SavedSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	n := f.aead.NonceSize()
	if len(b) < n {
		return nil, fmt.Errorf("client: session file %s is corrupt", f.path)
	}
	plain, err := f.aead.Open(nil, b[:n], b[n:], fileStoreAD)
	if err != nil {
		return nil, fmt.Errorf("client: session file %s does not decrypt with this key", f.path)
	}
	var s SavedSession
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("client: session file %s: %w", f.path, err)
	}
	return &s, nil
}

// Save encrypts and writes s.
func (f *FileStore) Save(_ context.Context, s SavedSession) error {
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	nonce := make([]byte, f.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	out := f.aead.Seal(nonce, nonce, plain, fileStoreAD)
	f.mu.Lock()
	defer f.mu.Unlock()
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".session-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.path)
}

// Clear removes the file.
func (f *FileStore) Clear(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := os.Remove(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (c *Client) apiKeyID() string {
	// A short digest identifies which app the saved session belongs to
	// without storing the key.
	return shortDigest(c.cfg.APIKey)
}

func (c *Client) saveLocked(ctx context.Context) {
	if c.cfg.Store == nil || c.sess == nil {
		return
	}
	s := c.sess
	err := c.cfg.Store.Save(ctx, SavedSession{Endpoint: c.base.String(), APIKeyID: c.apiKeyID(), DeviceID: c.deviceIDLocked(),
		UserID: s.userID, InternalID: s.internalID, Path: s.path, LoginType: string(s.loginType), UserType: string(s.userType),
		AccessToken: s.accessToken, IssuedAt: s.issuedAt, ExpiresAt: s.expiresAt})
	if err != nil {
		c.log.Debug("saving the session failed", "err", err)
	}
}

// Restore resumes a saved session: if the store holds one for this
// endpoint and app whose token has not expired, the client checks it with
// the server (GET /api/v3/sessions) and, when valid, goes to established
// (through establishing) with h for renewals of default logins (an
// access-token session renews through the access-token handler). A token
// the server refuses ends in notLoggedIn and is forgotten. It reports
// whether the session was restored. Call it before any Login.
func (c *Client) Restore(ctx context.Context, h SessionHandler) (bool, error) {
	if c.cfg.Store == nil {
		return false, nil
	}
	saved, err := c.cfg.Store.Load(ctx)
	if err != nil || saved == nil {
		return false, err
	}
	if saved.Endpoint != c.base.String() || saved.APIKeyID != c.apiKeyID() {
		return false, nil
	}
	c.mu.Lock()
	if c.deviceID == "" {
		c.deviceID = saved.DeviceID
	}
	if !c.now().Before(saved.ExpiresAt.Add(-ExpiryMargin)) {
		c.mu.Unlock()
		c.cfg.Store.Clear(ctx)
		return false, nil
	}
	c.mu.Unlock()
	if err := c.beginLogin(saved.UserID); err != nil {
		return false, err
	}
	err = c.send(ctx, http.MethodGet, "/api/v3/sessions", bearer(saved.AccessToken), nil, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.setStateLocked(gatehouse.NotLoggedIn, "")
		switch gatehouse.ErrorCode(err) {
		case gatehouse.Unauthenticated, gatehouse.Banned, gatehouse.Forbidden:
			c.cfg.Store.Clear(ctx)
			return false, nil
		}
		return false, err
	}
	if h == nil {
		h = SessionHandlerFunc(func(*Renewal) {})
	}
	c.handler = h
	c.sess = &session{userID: saved.UserID, internalID: saved.InternalID, path: saved.Path, loginType: loginType(saved.LoginType),
		userType:    gatehouse.UserType(saved.UserType).OrSignedIn(),
		accessToken: saved.AccessToken, issuedAt: saved.IssuedAt, expiresAt: saved.ExpiresAt, authParams: LoginParams{UserID: saved.UserID}}
	c.gen++
	c.sessGen++
	c.renewing, c.retryAt = false, time.Time{}
	return true, c.setStateLocked(gatehouse.Established, "")
}
