package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/realtime"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"go.yaml.in/yaml/v3"
)

// serveConfig is the configuration of "gatehouse serve". Each setting comes,
// highest first, from its flag, its GATEHOUSE_* environment variable, the
// optional config file (--config), or its default.
//
// Adding a serve setting is a one-place change: add a field here and one
// line in register below. The flag name gives everything else: the
// environment variable (GATEHOUSE_ + upper snake case), the config-file key
// (the flag name) and the help text. For a secret, use secretStringVar,
// which adds --NAME-file and GATEHOUSE_NAME_FILE. Then add the row to the
// README's settings table (TestReadmeListsEverySetting checks it is there)
// and any check to validate.
type serveConfig struct {
	Addr string
	Data string
	// DatabaseURL, when set, picks the PostgreSQL store (several nodes
	// may share it) instead of SQLite under Data.
	DatabaseURL string
	AdminToken  string
	LogFormat   string
	LogLevel    string
	PprofAddr   string
	// MetricsAddr serves /metrics (Prometheus), never on Addr.
	MetricsAddr string
	// AllowedOrigins for the /mqtt WebSocket; "*" allows any.
	AllowedOrigins []string
	// ServerKeyOrigins may call the auth-token endpoints from a browser.
	ServerKeyOrigins []string
	// SealKeyFile holds the key sealing customers' HMAC secrets.
	SealKeyFile string
	// AllowPrivateJWKS lets JWKS URLs use http and private addresses.
	AllowPrivateJWKS bool
	// Limits are the rate limits (README, "Rate limits").
	Limits ratelimit.Config
	// FailClosedAfter: a node that cannot confirm its state is current
	// for this long refuses validations (503).
	FailClosedAfter time.Duration
	// MQTT bounds the realtime broker (README, "Tokens and realtime").
	MQTT struct {
		ConnectTimeout, SessionExpiry time.Duration
		MaxPending, MaxPendingPerAddr int
	}
	// VisitorRetention: visitor and bot users are purged this long after
	// their last token expired.
	VisitorRetention time.Duration
}

// register defines serve's settings on fs.
func (c *serveConfig) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address `HOST:PORT` (:0 picks a free port; the address is printed)")
	fs.StringVar(&c.Data, "data", "gatehouse-data", "data `DIR`: the SQLite database, the generated admin token and seal key")
	secretStringVar(fs, &c.DatabaseURL, "database-url", "", "PostgreSQL `URL` (postgres://user:password@host:5432/db): use that database, which several nodes may share, instead of SQLite under --data; needs --seal-key-file")
	secretStringVar(fs, &c.AdminToken, "admin-token", "", "admin `TOKEN` (at least 32 random characters); generated into <data>/admin-token when unset on a new store")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log `FORMAT`: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this separate `HOST:PORT` (off when empty; keep it on loopback or a private network)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this separate `HOST:PORT` (off when empty; keep it on loopback)")
	fs.StringVar(&c.SealKeyFile, "seal-key-file", "", "`FILE` with the 64-hex-digit key sealing the signing keys, the auth-token key and customers' HMAC secrets (default <data>/seal-key, generated on a new store)")
	fs.BoolVar(&c.AllowPrivateJWKS, "allow-private-jwks", false, "let JWKS URLs use http:// and private or loopback addresses (development only)")
	fs.DurationVar(&c.VisitorRetention, "visitor-retention", gatehouse.DefaultVisitorRetention, "purge visitor and bot users this `DURATION` after their last token expired (at least 1h)")
	fs.StringSliceVar(&c.AllowedOrigins, "allowed-origins", []string{"*"}, "comma-separated browser `ORIGINS` allowed to open /mqtt (\"*\": any)")
	fs.StringSliceVar(&c.ServerKeyOrigins, "server-key-origins", nil, "comma-separated browser `ORIGINS` allowed to call the auth-token endpoints with a server key (default none: a server key sent with an Origin header is refused)")
	fs.DurationVar(&c.MQTT.ConnectTimeout, "mqtt-connect-timeout", realtime.DefaultConnectTimeout, "time an upgraded /mqtt WebSocket has to send its CONNECT before it is closed")
	fs.IntVar(&c.MQTT.MaxPending, "mqtt-max-pending", realtime.DefaultMaxPending, "upgraded /mqtt WebSockets not yet authenticated, in total; more are refused with 503 (-1: no cap)")
	fs.IntVar(&c.MQTT.MaxPendingPerAddr, "mqtt-max-pending-per-addr", realtime.DefaultMaxPendingPerAddr, "upgraded /mqtt WebSockets not yet authenticated, per client address; more are refused with 429 (-1: no cap)")
	fs.DurationVar(&c.MQTT.SessionExpiry, "mqtt-session-expiry", realtime.DefaultSessionExpiry, "how long a disconnected clean=false MQTT session is kept for resumption")
	lim := &c.Limits
	*lim = ratelimit.DefaultConfig()
	fs.Var(&lim.LoginPerUser, "limit-login-user", "logins (and renewals) per app and user, N/DURATION or off")
	fs.Var(&lim.LoginPerApp, "limit-login-app", "logins per app (its budget, so one app cannot starve the others), N/DURATION or off")
	fs.Var(&lim.FailedCredentials, "limit-failed-credentials", "wrong API keys, server keys, auth tokens and admin tokens per client address and kind before a growing block, N/DURATION or off")
	fs.DurationVar(&lim.MaxBlock, "limit-max-block", lim.MaxBlock, "longest block of a client address after failed credentials")
	fs.Var(&lim.NewVisitorPerAddr, "limit-new-visitor-addr", "new visitor and bot users per client address, N/DURATION or off")
	fs.Var(&lim.NewVisitorPerApp, "limit-new-visitor-app", "new visitor and bot users per app, N/DURATION or off")
	fs.IntVar(&lim.MaxKeys, "limit-max-keys", lim.MaxKeys, "keys (users, apps, addresses) each rate limiter remembers, bounding its memory")
	fs.Var(&lim.TrustedProxies, "trusted-proxies", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For names the client (default none: the TCP peer is the client)")
	fs.DurationVar(&c.FailClosedAfter, "fail-closed-after", 5*time.Second, "refuse validations (503) when the node cannot confirm for this `DURATION` that it applied every event of the log")

	// Every flag defined above is a setting (environment and config file).
	fs.VisitAll(func(f *pflag.Flag) { markSettings(fs, f.Name) })
}

// loadSettings fills the flags of fs that the command line left unset from
// the environment, then from the config file named by --config (or
// GATEHOUSE_CONFIG), then resolves --NAME-file secrets. Only flags marked as
// settings take part. It reports every problem at once.
func loadSettings(fs *pflag.FlagSet, getenv func(string) string) error {
	var errs []error
	file := map[string]string{}
	if cf := fs.Lookup("config"); cf != nil {
		path := cf.Value.String()
		if !cf.Changed {
			path = getenv("GATEHOUSE_CONFIG")
		}
		if path != "" {
			m, err := readConfigFile(path, fs)
			if err != nil {
				return err
			}
			file = m
		}
	}
	// A secret and its -file companion count as one setting: a higher
	// layer that sets either hides both in the lower layers.
	partnerChanged := func(f *pflag.Flag) bool {
		for _, p := range partners(fs, f) {
			if fs.Lookup(p).Changed {
				return true
			}
		}
		return false
	}
	layers := []struct {
		name string
		get  func(f *pflag.Flag) (string, bool)
	}{
		{"environment", func(f *pflag.Flag) (string, bool) {
			v := getenv(envName(f.Name))
			return v, v != ""
		}},
		{"config file", func(f *pflag.Flag) (string, bool) { v, ok := file[f.Name]; return v, ok }},
	}
	for _, l := range layers {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Annotations[annSetting] == nil || f.Changed || partnerChanged(f) {
				return
			}
			if v, ok := l.get(f); ok {
				if err := fs.Set(f.Name, v); err != nil {
					errs = append(errs, fmt.Errorf("%s (%s): %w", envOrKey(l.name, f.Name), l.name, err))
				}
			}
		})
	}
	// Secrets from files.
	fs.VisitAll(func(f *pflag.Flag) {
		target := f.Annotations[annSecretOf]
		if target == nil || !f.Changed || f.Value.String() == "" {
			return
		}
		if fs.Lookup(target[0]).Changed {
			errs = append(errs, fmt.Errorf("give --%s or --%s, not both", target[0], f.Name))
			return
		}
		b, err := os.ReadFile(f.Value.String())
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", f.Name, err))
			return
		}
		if err := fs.Set(target[0], strings.TrimSpace(string(b))); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", f.Name, err))
		}
	})
	return errors.Join(errs...)
}

func envOrKey(layer, flag string) string {
	if layer == "environment" {
		return envName(flag)
	}
	return flag
}

// partners are the flags that set the same value as f: a secret and its
// -file companion.
func partners(fs *pflag.FlagSet, f *pflag.Flag) []string {
	if t := f.Annotations[annSecretOf]; t != nil {
		return t
	}
	if fs.Lookup(f.Name+"-file") != nil && fs.Lookup(f.Name + "-file").Annotations[annSecretOf] != nil {
		return []string{f.Name + "-file"}
	}
	return nil
}

// readConfigFile reads a YAML mapping of setting names (the flag names) to
// values; lists become comma-separated. Unknown keys are errors, so a typo
// does not silently leave a default in place.
func readConfigFile(path string, fs *pflag.FlagSet) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	out := map[string]string{}
	var unknown []string
	for k, v := range raw {
		f := fs.Lookup(k)
		if f == nil || f.Annotations[annSetting] == nil {
			unknown = append(unknown, k)
			continue
		}
		switch x := v.(type) {
		case nil:
			out[k] = ""
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			out[k] = strings.Join(parts, ",")
		case map[string]any:
			return nil, fmt.Errorf("config file %s: %s must be a value, not a mapping", path, k)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("config file %s: unknown setting(s) %s", path, strings.Join(unknown, ", "))
	}
	return out, nil
}

// newServeFlags returns serve's flag set: the settings and --config.
func (c *serveConfig) newFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.register(fs)
	fs.String("config", "", "optional YAML `FILE` of settings (keys are the flag names); env GATEHOUSE_CONFIG")
	return fs
}

// finish applies the lower layers to the parsed flags and checks the
// result.
func (c *serveConfig) finish(fs *pflag.FlagSet, getenv func(string) string) error {
	if err := loadSettings(fs, getenv); err != nil {
		return err
	}
	var origins []string
	for _, o := range c.AllowedOrigins {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	c.AllowedOrigins = origins
	return c.validate()
}

// parseServeConfig parses serve's command line and settings (for tests and
// tools; the serve command does the same through cobra).
func parseServeConfig(args []string, getenv func(string) string) (serveConfig, error) {
	var c serveConfig
	fs := c.newFlagSet()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	return c, c.finish(fs, getenv)
}

func (c serveConfig) validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("--addr must not be empty"))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	if c.DatabaseURL != "" {
		if _, _, _, err := storeLocation(c.DatabaseURL, c.Data); err != nil {
			errs = append(errs, err)
		}
		if c.SealKeyFile == "" {
			// Nodes sharing a database must share the key sealing what is
			// in it; generating one per node would lock the others out.
			errs = append(errs, errors.New("--database-url needs --seal-key-file: every node sharing the database must use the same seal key (create one with: openssl rand -hex 32 > seal-key)"))
		}
	}
	if c.MQTT.ConnectTimeout <= 0 || c.MQTT.SessionExpiry < 0 {
		errs = append(errs, errors.New("--mqtt-connect-timeout must be positive and --mqtt-session-expiry not negative"))
	}
	if c.MQTT.MaxPending == 0 || c.MQTT.MaxPendingPerAddr == 0 {
		errs = append(errs, errors.New("--mqtt-max-pending and --mqtt-max-pending-per-addr must be positive, or -1 for no cap"))
	}
	if c.AdminToken != "" {
		if err := session.CheckAdminToken(gatehouse.Secret(c.AdminToken)); err != nil {
			errs = append(errs, fmt.Errorf("--admin-token: %s", gatehouse.ErrorMessage(err)))
		}
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat))
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	if c.FailClosedAfter < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("--fail-closed-after must be at least 100ms, not %s", c.FailClosedAfter))
	}
	if c.VisitorRetention < time.Hour {
		errs = append(errs, fmt.Errorf("--visitor-retention must be at least 1h, not %s", c.VisitorRetention))
	}
	return errors.Join(errs...)
}

func (c serveConfig) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(c.LogLevel))); err != nil {
		return l, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	return l, nil
}

func (c serveConfig) logger(w io.Writer) *slog.Logger {
	l, _ := c.level()
	opts := &slog.HandlerOptions{Level: l}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
