package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// runServeOnce starts serve without an admin token, waits until it listens,
// stops it, and returns what it printed.
func runServeOnce(t *testing.T, data string) string {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_TOKEN=")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "gatehouse listening on") {
			break
		}
	}
	cmd.Process.Signal(os.Interrupt)
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not shut down cleanly on SIGINT: %v\n%s%s", err, out.String(), logs.String())
	}
	return out.String() + logs.String()
}
