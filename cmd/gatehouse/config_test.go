package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
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
	os.WriteFile(tokFile, []byte("from-a-file-0123456789\n"), 0o600)
	c, err := parseServeConfig([]string{"--admin-token-file", tokFile}, envMap(map[string]string{"GATEHOUSE_ADMIN_TOKEN": "from-the-env-0123456789"}))
	if err != nil || c.AdminToken != "from-a-file-0123456789" {
		t.Fatalf("--admin-token-file must win over the env and be trimmed: %q %v", c.AdminToken, err)
	}
	c, err = parseServeConfig(nil, envMap(map[string]string{"GATEHOUSE_ADMIN_TOKEN_FILE": tokFile}))
	if err != nil || c.AdminToken != "from-a-file-0123456789" {
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
