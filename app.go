package gatehouse

import (
	"fmt"
	"time"
)

// App is one social.plus "network": a tenant with its own users, API keys,
// server keys and settings. Its ID is also its networkId on the wire (the
// prefix of every user path and MQTT topic), so it is made only of
// [A-Za-z0-9_] characters.
type App struct {
	ID         string
	Name       string
	SecureMode bool
	// AccessTTL is the lifetime of access tokens issued at login.
	AccessTTL time.Duration
	// AuthTokenTTL is the lifetime of secure-mode auth tokens.
	AuthTokenTTL time.Duration
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Default and allowed token lifetimes. The social.plus SDKs start renewing at
// about 80% of the lifetime minus five minutes and check every ten minutes,
// so lifetimes under an hour give coarse renewal (wire spec §10.2).
const (
	DefaultAccessTTL    = 30 * 24 * time.Hour
	MinAccessTTL        = time.Hour
	MaxAccessTTL        = 365 * 24 * time.Hour
	DefaultAuthTokenTTL = 10 * time.Minute
	MinAuthTokenTTL     = 30 * time.Second
	MaxAuthTokenTTL     = 24 * time.Hour
)

// Validate checks the app's settings.
func (a *App) Validate() error {
	if a.Name == "" || len(a.Name) > 100 {
		return Errorf(Invalid, "app name must be 1 to 100 characters")
	}
	if a.AccessTTL < MinAccessTTL || a.AccessTTL > MaxAccessTTL {
		return Errorf(Invalid, "access token lifetime must be between %s and %s", MinAccessTTL, fmtDays(MaxAccessTTL))
	}
	if a.AuthTokenTTL < MinAuthTokenTTL || a.AuthTokenTTL > MaxAuthTokenTTL {
		return Errorf(Invalid, "auth token lifetime must be between %s and %s", MinAuthTokenTTL, MaxAuthTokenTTL)
	}
	return nil
}

func fmtDays(d time.Duration) string { return fmt.Sprintf("%dd", int(d/(24*time.Hour))) }

// KeyKind says what a Key authorizes.
type KeyKind string

// Key kinds.
const (
	// APIKey identifies an app to the client API (X-API-Key on login).
	APIKey KeyKind = "api"
	// ServerKey authorizes the server-to-server API (x-server-key).
	ServerKey KeyKind = "server"
)

// Key is an API key or server key. The secret itself is never stored: only
// its SHA-256 digest, compared in constant time.
type Key struct {
	ID        string // public, the first part of the key string
	AppID     string
	Kind      KeyKind
	Name      string
	Hash      []byte // SHA-256 of the full key string
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// Active reports whether the key has not been revoked.
func (k *Key) Active() bool { return k.RevokedAt.IsZero() }
