package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/gatehouse once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gatehouse")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/gatehouse").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build gatehouse: %v\n%s", buildErr, binPath)
	}
	return binPath
}

const adminToken = "gha_9b3e71c5d20a8f46e1b7c3925da04f68"

// server is a running "gatehouse serve" process.
type server struct {
	t   *testing.T
	URL string
	// MetricsURL is the Prometheus endpoint (serve's --metrics-addr).
	MetricsURL string
	data       string
	logs       *bytes.Buffer
	cmd        *exec.Cmd
	// extra are more serve flags (a shared database, a seal key file).
	extra []string
}

func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, data: t.TempDir(), logs: &bytes.Buffer{}}
	s.start()
	return s
}

func (s *server) start() {
	t := s.t
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data", s.data, "--admin-token", adminToken}, s.extra...)...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_LOG_LEVEL=debug")
	cmd.Stderr = s.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	t.Cleanup(s.stop)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("gatehouse exited before listening:\n%s", s.logs)
			}
			if rest, ok := strings.CutPrefix(l, "gatehouse listening on "); ok {
				s.URL = strings.Fields(rest)[0]
				if _, m, ok := strings.Cut(rest, "metrics on "); ok {
					s.MetricsURL = strings.TrimSuffix(m, ")")
				}
				go func() {
					for range lines {
					}
				}()
				return
			}
		case <-timeout:
			t.Fatalf("gatehouse did not start:\n%s", s.logs)
		}
	}
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		s.cmd = nil
	}
}

// cli runs an admin verb against the server and returns its stdout.
func (s *server) cli(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(binary(s.t), args...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_SERVER="+s.URL, "GATEHOUSE_ADMIN_TOKEN="+adminToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// cliJSON runs a verb with --json and decodes its one JSON object.
func (s *server) cliJSON(args ...string) map[string]any {
	s.t.Helper()
	out := s.cli(append(args, "--json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &m); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		s.t.Fatalf("gatehouse %s --json printed %q, want one JSON object", strings.Join(args, " "), out)
	}
	return m
}

// call makes an HTTP request and returns status and body.
func (s *server) call(method, path, body string, header ...string) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, s.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func wantErrorBody(t *testing.T, status int, body []byte, wantStatus, wantCode int) {
	t.Helper()
	var e struct {
		Status string
		Code   int
	}
	json.Unmarshal(body, &e)
	if status != wantStatus || e.Status != "error" || e.Code != wantCode {
		t.Fatalf("got %d %s, want %d with code %d", status, body, wantStatus, wantCode)
	}
}
