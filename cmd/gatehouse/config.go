package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// serveConfig is the configuration of "gatehouse serve": defaults, then
// GATEHOUSE_* environment variables, then flags.
type serveConfig struct {
	Addr       string
	Data       string
	AdminToken string
	LogFormat  string
	LogLevel   string
	PprofAddr  string
	// AllowedOrigins for the /mqtt WebSocket; "*" allows any.
	AllowedOrigins []string
	// SealKeyFile holds the key sealing customers' HMAC secrets.
	SealKeyFile string
	// AllowPrivateJWKS lets JWKS URLs use http and private addresses.
	AllowPrivateJWKS bool
}

func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	c := serveConfig{Addr: "127.0.0.1:8080", Data: "gatehouse-data", LogFormat: "text", LogLevel: "info"}
	env := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	env(&c.Addr, "GATEHOUSE_ADDR")
	env(&c.Data, "GATEHOUSE_DATA")
	env(&c.AdminToken, "GATEHOUSE_ADMIN_TOKEN")
	env(&c.LogFormat, "GATEHOUSE_LOG_FORMAT")
	env(&c.LogLevel, "GATEHOUSE_LOG_LEVEL")
	env(&c.PprofAddr, "GATEHOUSE_PPROF_ADDR")
	env(&c.SealKeyFile, "GATEHOUSE_SEAL_KEY_FILE")
	c.AllowPrivateJWKS = getenv("GATEHOUSE_ALLOW_PRIVATE_JWKS") == "true"
	origins := "*"
	env(&origins, "GATEHOUSE_ALLOWED_ORIGINS")

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address `HOST:PORT`")
	fs.StringVar(&c.Data, "data", c.Data, "data `DIR` (SQLite file, generated admin token)")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "admin `TOKEN` (at least 16 characters); generated when unset on a new store")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.PprofAddr, "pprof-addr", c.PprofAddr, "serve net/http/pprof on this separate `HOST:PORT` (off when empty; keep it on loopback)")
	fs.StringVar(&c.SealKeyFile, "seal-key-file", c.SealKeyFile, "`FILE` with the 64-hex-digit key sealing customers' HMAC secrets (default <data>/seal-key, generated)")
	fs.BoolVar(&c.AllowPrivateJWKS, "allow-private-jwks", c.AllowPrivateJWKS, "let JWKS URLs use http:// and private or loopback addresses (development only)")
	fs.StringVar(&origins, "allowed-origins", origins, "comma-separated browser `ORIGINS` allowed to open /mqtt (\"*\": any)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	return c, c.validate()
}

func (c serveConfig) validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("--addr must not be empty"))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("--admin-token must be at least 16 characters"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat))
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
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
