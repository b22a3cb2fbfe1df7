package main

import (
	"io"
	"strings"
	"testing"
)

func TestServeConfigLayers(t *testing.T) {
	env := map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9000", "GATEHOUSE_DATA": "/var/lib/gh", "GATEHOUSE_LOG_FORMAT": "json"}
	c, err := parseServeConfig([]string{"--addr", "127.0.0.1:9100"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9100" || c.Data != "/var/lib/gh" || c.LogFormat != "json" || c.LogLevel != "info" {
		t.Fatalf("flags must override env, env defaults: %+v", c)
	}
}

func TestServeConfigReportsEveryProblem(t *testing.T) {
	_, err := parseServeConfig([]string{"--admin-token", "short", "--log-format", "xml", "--log-level", "loud"}, func(string) string { return "" }, io.Discard)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"--admin-token", "--log-format", "--log-level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := parseServeConfig([]string{"extra"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("stray argument accepted")
	}
}

func TestParseInterleaved(t *testing.T) {
	f := cliFlags{}
	fs := newAdminFlagSet(&f, func(string) string { return "" }, io.Discard)
	pos, err := parseInterleaved(fs, []string{"create", "--json", "My App", "--server", "http://x"})
	if err != nil || len(pos) != 2 || pos[0] != "create" || pos[1] != "My App" || !f.json || f.server != "http://x" {
		t.Fatalf("pos %q, flags %+v, err %v", pos, f, err)
	}
}
