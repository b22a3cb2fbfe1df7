package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveFails runs serve on data, which must refuse to start, and returns
// what it wrote to stderr.
func serveFails(t *testing.T, data string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "serve", "--addr", "127.0.0.1:0", "--data", data, "--admin-token", adminToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil || ctx.Err() != nil || strings.Contains(stdout.String(), "listening on") {
		t.Fatalf("serve started (or hung) where it must refuse: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	return stderr.String()
}

// Issue 9: restoring a database without its seal key made the server write
// a new seal key and then fail with "cipher: message authentication
// failed" — and the new key, written over nothing, could never open the
// sealed data. Now serve refuses to start, names the missing file and
// generates nothing; with a wrong key it refuses and says so; with the
// right key back it starts and the data is all there.
func TestSealKeyMissingOrWrong(t *testing.T) {
	s := startServer(t)
	app := s.cliJSON("app", "create", "Sealed")
	appID := app["appId"].(string)
	secretFile := filepath.Join(t.TempDir(), "secret")
	secret := make([]byte, 32)
	rand.Read(secret)
	os.WriteFile(secretFile, []byte(hex.EncodeToString(secret)), 0o600)
	s.cliJSON("app", "access-token-key", "add", appID, "--alg", "HS256", "--secret-file", secretFile)
	s.stop()

	keyPath := filepath.Join(s.data, "seal-key")
	saved, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(keyPath)
	msg := serveFails(t, s.data)
	if !strings.Contains(msg, keyPath) || !strings.Contains(msg, "is missing") || strings.Contains(msg, "message authentication failed") {
		t.Fatalf("refusal does not name the missing seal key %s:\n%s", keyPath, msg)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("a new seal key was generated over sealed data")
	}

	wrong := make([]byte, 32)
	rand.Read(wrong)
	os.WriteFile(keyPath, []byte(hex.EncodeToString(wrong)+"\n"), 0o600)
	msg = serveFails(t, s.data)
	if !strings.Contains(msg, keyPath) || !strings.Contains(msg, "not the key this database was sealed with") {
		t.Fatalf("refusal does not say the seal key %s is wrong:\n%s", keyPath, msg)
	}

	os.WriteFile(keyPath, saved, 0o600)
	s.start()
	if list := s.cli("app", "access-token-key", "list", appID); !strings.Contains(list, "HS256") {
		t.Fatalf("access-token keys after restoring the seal key:\n%s", list)
	}
}
