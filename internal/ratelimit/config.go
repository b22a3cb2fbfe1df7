package ratelimit

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Credential names a kind of credential whose failures are limited per
// client address.
type Credential string

// The credentials whose failures are limited.
const (
	APIKey     Credential = "api_key"
	ServerKey  Credential = "server_key"
	AuthToken  Credential = "auth_token"
	AdminToken Credential = "admin_token"
)

// Credentials lists every Credential.
var Credentials = []Credential{APIKey, ServerKey, AuthToken, AdminToken}

// Config is the server's set of limits.
type Config struct {
	// LoginPerUser limits logins (renewals are logins) per app and user.
	// The hosted social.plus service allows 100 requests per 5 s per user
	// (wire spec §1.7).
	LoginPerUser Rule
	// LoginPerApp is an app's login budget, so that one app cannot take
	// the whole server from the others.
	LoginPerApp Rule
	// FailedCredentials is each client address's budget of wrong API keys,
	// server keys, auth tokens and admin tokens, counted per kind; past it
	// the address is blocked with a growing back-off up to MaxBlock.
	FailedCredentials Rule
	MaxBlock          time.Duration
	// NewVisitorPerAddr and NewVisitorPerApp limit the creation of visitor
	// and bot users, which needs no secret outside secure visitor mode:
	// per client address, and per app. Returning visitors do not count.
	NewVisitorPerAddr Rule
	NewVisitorPerApp  Rule
	// MaxKeys bounds each limiter's table (users, apps, addresses).
	MaxKeys int
	// TrustedProxies may set X-Forwarded-For; none by default.
	TrustedProxies Proxies
}

// DefaultConfig returns the default limits. They are sized so that one
// app's legitimate peak is never refused: cmd/loadbench (one app, 5,000
// returning users, 12,000 to 30,000 logins/s on a 2-core machine) runs without
// a single 429 on them.
func DefaultConfig() Config {
	return Config{
		LoginPerUser:      Rule{Burst: 100, Per: 5 * time.Second},
		LoginPerApp:       Rule{Burst: 50_000, Per: time.Second},
		FailedCredentials: Rule{Burst: 30, Per: time.Minute},
		MaxBlock:          15 * time.Minute,
		NewVisitorPerAddr: Rule{Burst: 30, Per: time.Minute},
		NewVisitorPerApp:  Rule{Burst: 500, Per: time.Second},
		MaxKeys:           DefaultMaxKeys,
	}
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	var errs []error
	if !c.FailedCredentials.Off() && c.MaxBlock < c.FailedCredentials.Per/time.Duration(c.FailedCredentials.Burst) {
		errs = append(errs, fmt.Errorf("maximum block %v is shorter than the first block %v", c.MaxBlock, c.FailedCredentials.Per/time.Duration(c.FailedCredentials.Burst)))
	}
	if c.MaxKeys < 0 || c.MaxKeys > 1<<24 {
		errs = append(errs, errors.New("the limiters' key count must be between 0 (default) and 16777216"))
	}
	return errors.Join(errs...)
}

// Limits are the limiters built from a Config.
type Limits struct {
	Config    Config
	LoginUser *Limiter
	LoginApp  *Limiter
	Failed    map[Credential]*Backoff
	// New visitor and bot users, per client address and per app.
	NewVisitorAddr *Limiter
	NewVisitorApp  *Limiter
}

// NewLimits builds the limiters of c; now is the clock (time.Now when nil).
func NewLimits(c Config, now func() time.Time) *Limits {
	l := &Limits{
		Config:    c,
		LoginUser: New(c.LoginPerUser, c.MaxKeys, now),
		LoginApp:  New(c.LoginPerApp, c.MaxKeys, now),
		Failed:    map[Credential]*Backoff{},

		NewVisitorAddr: New(c.NewVisitorPerAddr, c.MaxKeys, now),
		NewVisitorApp:  New(c.NewVisitorPerApp, c.MaxKeys, now),
	}
	for _, k := range Credentials {
		l.Failed[k] = NewBackoff(c.FailedCredentials, c.MaxBlock, c.MaxKeys, now)
	}
	return l
}

// Set implements flag.Value (and pflag.Value with Type).
func (r *Rule) Set(s string) error {
	v, err := ParseRule(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Type names the flag value's form for pflag.
func (r *Rule) Type() string { return "N/DURATION" }

// Set implements flag.Value (and pflag.Value with Type).
func (ps *Proxies) Set(s string) error {
	v, err := ParseProxies(s)
	if err != nil {
		return err
	}
	*ps = v
	return nil
}

// String lists the prefixes, comma-separated.
func (ps *Proxies) String() string {
	if ps == nil {
		return ""
	}
	var b strings.Builder
	for i, p := range *ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Type names the flag value's form for pflag.
func (ps *Proxies) Type() string { return "CIDRS" }
