package gatehouse

import (
	"fmt"
	"net/url"
	"strings"
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
	// What customer-signed access tokens must carry: iss and aud when set,
	// and a lifetime (exp − iat) of at most TokenMaxTTL
	// (DefaultCustomerTokenMaxTTL when zero).
	TokenIssuer   string
	TokenAudience string
	TokenMaxTTL   time.Duration
	// Visitors says whether visitor sessions are refused (off, the
	// default), open to any device (on), or need a signature from the
	// customer's backend (secure). Bots allows bot sessions.
	Visitors VisitorMode
	Bots     bool
	// Origins are the browser origins allowed to log in with the app's
	// API key (empty: any).
	Origins   Origins
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DefaultCustomerTokenMaxTTL bounds customer-signed tokens' lifetime unless
// the app sets its own maximum.
const DefaultCustomerTokenMaxTTL = 24 * time.Hour

// CustomerTokenMaxTTL returns the app's maximum customer-token lifetime.
func (a *App) CustomerTokenMaxTTL() time.Duration {
	if a.TokenMaxTTL > 0 {
		return a.TokenMaxTTL
	}
	return DefaultCustomerTokenMaxTTL
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
	if a.TokenMaxTTL < 0 || a.TokenMaxTTL > MaxAccessTTL {
		return Errorf(Invalid, "customer token maximum lifetime must be between 0 (default %s) and %s", DefaultCustomerTokenMaxTTL, fmtDays(MaxAccessTTL))
	}
	if a.Visitors != "" && !a.Visitors.Valid() {
		return Errorf(Invalid, "visitors must be off, on or secure")
	}
	if len(a.TokenIssuer) > 200 || len(a.TokenAudience) > 200 {
		return Errorf(Invalid, "customer token issuer and audience must be at most 200 characters")
	}
	// Control characters are never meant, and PostgreSQL cannot store NUL.
	if strings.IndexFunc(a.Name+a.TokenIssuer+a.TokenAudience, badRune) >= 0 {
		return Errorf(Invalid, "app name, customer token issuer and audience must not contain control characters")
	}
	return nil
}

// ValidateKeyName checks the label of an API or server key: at most 100
// bytes, no control characters.
func ValidateKeyName(s string) error {
	if len(s) > 100 {
		return Errorf(Invalid, "key name must be at most 100 characters")
	}
	if strings.IndexFunc(s, badRune) >= 0 {
		return Errorf(Invalid, "key name must not contain control characters")
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

// VerificationKeyKind says where a verification key's material comes from.
type VerificationKeyKind string

// Verification key kinds.
const (
	KeyHMAC   VerificationKeyKind = "hmac"   // a shared secret (HS256/384/512)
	KeyPublic VerificationKeyKind = "public" // a public key, PEM or JWK
	KeyJWKS   VerificationKeyKind = "jwks"   // keys fetched from a JWKS URL
)

// VerificationKey verifies the access tokens an app's backend signs. Each
// key is bound to one algorithm.
type VerificationKey struct {
	ID    string
	AppID string
	Alg   string
	Kind  VerificationKeyKind
	// Material is the sealed HMAC secret or the public key (PEM or JWK);
	// empty for JWKS keys.
	Material  []byte
	JWKSURL   string
	CreatedAt time.Time
}

// Origins are the browser origins (scheme://host[:port]) allowed to log in
// with an app's API key, space-separated in canonical form (a string, so
// App stays comparable). Empty allows any origin; requests without an
// Origin header (native apps, servers) are never affected.
type Origins string

// MaxOrigins bounds an app's origin list.
const MaxOrigins = 20

// ParseOrigins reads a list of origins separated by commas, spaces or new
// lines, checks each (http or https, a host, an optional port, nothing
// else), and returns it lower-cased, without duplicates.
func ParseOrigins(s string) (Origins, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		o := strings.ToLower(strings.TrimRight(f, "/"))
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || len(o) > 200 {
			return "", Errorf(Invalid, "%q is not an origin such as https://app.example.com or http://localhost:3000", f)
		}
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	if len(out) > MaxOrigins {
		return "", Errorf(Invalid, "at most %d allowed origins", MaxOrigins)
	}
	return Origins(strings.Join(out, " ")), nil
}

// Allows reports whether a request with this Origin header may use the
// app's API key. No header, or no list, allows.
func (o Origins) Allows(origin string) bool {
	if o == "" || origin == "" {
		return true
	}
	origin = strings.ToLower(origin)
	for _, x := range strings.Fields(string(o)) {
		if x == origin {
			return true
		}
	}
	return false
}

// List returns the origins.
func (o Origins) List() []string { return strings.Fields(string(o)) }
