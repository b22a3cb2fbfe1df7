package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestServeConfigLayers(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(cfgFile, []byte("addr: 127.0.0.1:7000\nlog-level: debug\nallowed-origins: [https://a.example, https://b.example]\npprof-addr: 127.0.0.1:6060\n"), 0o600)
	env := map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9000", "GATEHOUSE_DATA": "/var/lib/gh", "GATEHOUSE_LOG_FORMAT": "json",
		"GATEHOUSE_CONFIG": cfgFile, "GATEHOUSE_PPROF_ADDR": "127.0.0.1:6061", "GATEHOUSE_ALLOW_PRIVATE_JWKS": "true"}
	c, err := parseServeConfig([]string{"--addr", "127.0.0.1:9100"}, envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	// flag > env > config file > default
	if c.Addr != "127.0.0.1:9100" || c.Data != "/var/lib/gh" || c.LogFormat != "json" || c.LogLevel != "debug" ||
		c.PprofAddr != "127.0.0.1:6061" || !c.AllowPrivateJWKS || strings.Join(c.AllowedOrigins, " ") != "https://a.example https://b.example" {
		t.Fatalf("layers: %+v", c)
	}
	def, err := parseServeConfig(nil, envMap(nil))
	if err != nil || def.Addr != "127.0.0.1:8080" || def.Data != "gatehouse-data" || strings.Join(def.AllowedOrigins, ",") != "*" {
		t.Fatalf("defaults: %+v %v", def, err)
	}
}

func TestServeConfigSecretFiles(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tok")
	os.WriteFile(tokFile, []byte("file-5d1c8e0a7b3f92e6c4d18a5b7f0e3c29\n"), 0o600)
	c, err := parseServeConfig([]string{"--admin-token-file", tokFile}, envMap(map[string]string{"GATEHOUSE_ADMIN_TOKEN": "env-8a2f5c7e1d94b06c3e8f7a1d5c92b4e0"}))
	if err != nil || c.AdminToken != "file-5d1c8e0a7b3f92e6c4d18a5b7f0e3c29" {
		t.Fatalf("--admin-token-file must win over the env and be trimmed: %q %v", c.AdminToken, err)
	}
	c, err = parseServeConfig(nil, envMap(map[string]string{"GATEHOUSE_ADMIN_TOKEN_FILE": tokFile}))
	if err != nil || c.AdminToken != "file-5d1c8e0a7b3f92e6c4d18a5b7f0e3c29" {
		t.Fatalf("GATEHOUSE_ADMIN_TOKEN_FILE: %q %v", c.AdminToken, err)
	}
	if _, err := parseServeConfig([]string{"--admin-token-file", tokFile, "--admin-token", "x0123456789abcdefgh"}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both given: %v", err)
	}
	if _, err := parseServeConfig([]string{"--admin-token-file", filepath.Join(dir, "missing")}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestServeConfigReportsEveryProblem(t *testing.T) {
	_, err := parseServeConfig([]string{"--admin-token", "short", "--log-format", "xml", "--log-level", "loud"}, envMap(nil))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"--admin-token", "--log-format", "--log-level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := parseServeConfig([]string{"extra"}, envMap(nil)); err == nil {
		t.Fatal("stray argument accepted")
	}
	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfgFile, []byte("adress: x\n"), 0o600)
	if _, err := parseServeConfig([]string{"--config", cfgFile}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "adress") {
		t.Fatalf("a typo in the config file must be refused: %v", err)
	}
	if _, err := parseServeConfig(nil, envMap(map[string]string{"GATEHOUSE_ALLOW_PRIVATE_JWKS": "maybe"})); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_ALLOW_PRIVATE_JWKS") {
		t.Fatalf("a bad env value must name the variable: %v", err)
	}
}

// TestReadmeListsEverySetting keeps the README's settings table complete:
// every serve flag and its environment variable appear in it.
func TestReadmeListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c serveConfig
	c.newFlagSet().VisitAll(func(f *pflag.Flag) {
		for _, want := range []string{"`--" + f.Name + "`", "`" + envName(f.Name)} {
			if !strings.Contains(string(readme), want) {
				t.Errorf("README does not list %s", want)
			}
		}
	})
}

// The admin token must be at least 32 characters that look random, by the
// check customers' HMAC secrets pass; before, any 16 characters were taken.
func TestAdminTokenStrength(t *testing.T) {
	none := envMap(nil)
	for _, weak := range []string{
		"0123456789abcdef",                     // 16 characters: accepted before
		"my-admin-password-my-admin-password-", // a repeated pattern
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"abababababababababababababababababab",
	} {
		if _, err := parseServeConfig([]string{"--admin-token", weak}, none); err == nil || !strings.Contains(err.Error(), "at least 32 random characters") {
			t.Errorf("weak admin token %q: err %v", weak, err)
		}
		if _, err := parseServeConfig(nil, envMap(map[string]string{"GATEHOUSE_ADMIN_TOKEN": weak})); err == nil {
			t.Errorf("weak GATEHOUSE_ADMIN_TOKEN %q accepted", weak)
		}
	}
	if _, err := parseServeConfig([]string{"--admin-token", "6f0d7c1b3a9e52d48c7f1e0b6a3d9c25"}, none); err != nil {
		t.Fatal(err)
	}
	tok := session.NewAdminToken()
	if err := session.CheckAdminToken(tok); err != nil || len(tok.Reveal()) != len("gha_")+64 {
		t.Fatalf("generated admin token (256 bits of hex) refused or wrong length: %v", err)
	}
}

// The rate limits are set from the environment and flags, flags winning,
// and bad values are reported by name.
func TestServeConfigLimits(t *testing.T) {
	env := map[string]string{"GATEHOUSE_LIMIT_LOGIN_USER": "10/1s", "GATEHOUSE_LIMIT_LOGIN_APP": "off", "GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8"}
	c, err := parseServeConfig([]string{"--limit-login-user", "50/5s", "--limit-max-block", "1h"}, envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.LoginPerUser.String() != "50/5s" || !l.LoginPerApp.Off() || l.MaxBlock != time.Hour || l.TrustedProxies.String() != "10.0.0.0/8" ||
		l.FailedCredentials != ratelimit.DefaultConfig().FailedCredentials {
		t.Fatalf("limits %+v", l)
	}
	if _, err = parseServeConfig([]string{"--limit-login-app", "lots"}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "limit-login-app") {
		t.Fatalf("bad flag: %v", err)
	}
	if _, err = parseServeConfig(nil, envMap(map[string]string{"GATEHOUSE_LIMIT_FAILED_CREDENTIALS": "5"})); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_LIMIT_FAILED_CREDENTIALS") {
		t.Fatalf("bad env: %v", err)
	}
}

// The realtime bounds and the server-key origins: defaults, settings from
// flags and environment, and nonsense refused.
func TestRealtimeAndOriginSettings(t *testing.T) {
	def, err := parseServeConfig(nil, envMap(nil))
	if err != nil || def.MQTT.ConnectTimeout != 5*time.Second || def.MQTT.MaxPending != 1024 || def.MQTT.MaxPendingPerAddr != 64 ||
		def.MQTT.SessionExpiry != time.Minute || len(def.ServerKeyOrigins) != 0 {
		t.Fatalf("defaults: %+v %v", def.MQTT, err)
	}
	c, err := parseServeConfig([]string{"--mqtt-connect-timeout", "2s", "--mqtt-max-pending", "-1", "--server-key-origins", "https://a.example,https://b.example"},
		envMap(map[string]string{"GATEHOUSE_MQTT_MAX_PENDING_PER_ADDR": "500", "GATEHOUSE_MQTT_SESSION_EXPIRY": "0s"}))
	if err != nil || c.MQTT.ConnectTimeout != 2*time.Second || c.MQTT.MaxPending != -1 || c.MQTT.MaxPendingPerAddr != 500 ||
		c.MQTT.SessionExpiry != 0 || strings.Join(c.ServerKeyOrigins, " ") != "https://a.example https://b.example" {
		t.Fatalf("settings: %+v %v %v", c.MQTT, c.ServerKeyOrigins, err)
	}
	for _, bad := range [][]string{{"--mqtt-connect-timeout", "0s"}, {"--mqtt-max-pending", "0"}, {"--mqtt-max-pending-per-addr", "0"}, {"--mqtt-session-expiry", "-1s"}} {
		if _, err := parseServeConfig(bad, envMap(nil)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestReadmeGoSnippetsCompile builds every Go block of the README as the
// program it is (go build with an overlay that places each inside the
// module, nothing written to the work tree), so the snippets compile as
// written.
func TestReadmeGoSnippetsCompile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	var pkgs []string
	parts := strings.Split(string(readme), "```go\n")
	for i, p := range parts[1:] {
		code, _, ok := strings.Cut(p, "```")
		if !ok {
			t.Fatalf("Go block %d is not closed", i+1)
		}
		if !strings.HasPrefix(code, "package ") {
			t.Errorf("Go block %d is not a whole program (it must start with a package clause):\n%s", i+1, code)
			continue
		}
		src := filepath.Join(tmp, fmt.Sprintf("snippet%d.go", i+1))
		os.WriteFile(src, []byte(code), 0o600)
		dir := fmt.Sprintf("internal/readmesnippet%d", i+1)
		overlay["Replace"][filepath.Join(root, dir, "main.go")] = src
		pkgs = append(pkgs, "./"+dir)
	}
	if len(pkgs) == 0 {
		return
	}
	ov := filepath.Join(tmp, "overlay.json")
	b, _ := json.Marshal(overlay)
	os.WriteFile(ov, b, 0o600)
	cmd := exec.Command("go", append([]string{"build", "-overlay", ov, "-o", t.TempDir()}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README Go snippets do not compile: %v\n%s", err, out)
	}
}
