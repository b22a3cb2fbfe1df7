package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// jsonKeys returns the top-level keys of one JSON object line, in order,
// duplicates included.
func jsonKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// TestLogsAreCleanJSON: with --log-format json every line serve writes to
// stderr is one JSON object without duplicate keys, startup messages
// included; durations are numbers in keys that end in _ms; failed
// credentials are logged at warn without the credential.
func TestLogsAreCleanJSON(t *testing.T) {
	data := t.TempDir()
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "json", "--log-level", "debug")
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_TOKEN=")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer kill.Stop()
	sc := bufio.NewScanner(stdout)
	var url string
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "gatehouse listening on "); ok {
			url = strings.Fields(rest)[0]
			break
		}
	}
	if url == "" {
		cmd.Wait()
		t.Fatalf("serve did not start:\n%s", logs.String())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	const wrongKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for range 3 {
		req, _ := http.NewRequest("POST", url+"/api/v5/sessions", strings.NewReader(`{"userId":"alice","deviceId":"d1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", wrongKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	adminTok, _ := os.ReadFile(data + "/admin-token")
	var msgs []string
	failed := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		keys, err := jsonKeys(line)
		if err != nil {
			t.Fatalf("log line is not a JSON object (%v): %s", err, line)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("duplicate key %q in %s", k, line)
			}
			seen[k] = true
		}
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		for k, v := range m {
			if strings.HasSuffix(k, "_ms") {
				if _, ok := v.(float64); !ok {
					t.Errorf("%s is not a number of milliseconds: %s", k, line)
				}
			}
			if k == "duration" || strings.HasSuffix(k, "_ttl") || strings.HasSuffix(k, "_duration") {
				t.Errorf("duration %s without its unit in the key: %s", k, line)
			}
		}
		msgs = append(msgs, fmt.Sprint(m["msg"]))
		if m["msg"] == "failed credential" {
			failed++
			if m["level"] != "WARN" || m["kind"] != "api_key" {
				t.Errorf("failed credential line: %s", line)
			}
		}
		if strings.Contains(line, wrongKey) || strings.Contains(line, strings.TrimSpace(string(adminTok))) {
			t.Errorf("a credential in the log: %s", line)
		}
	}
	if failed < 1 || failed > 3 {
		t.Errorf("%d failed-credential lines for 3 wrong API keys", failed)
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"generated a seal key", "generated an admin token", "serving"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q record among the logs:\n%s", want, logs.String())
		}
	}
}
