package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupRestoreUnderLoad: "gatehouse backup" taken while logins and
// logouts run, restored with "gatehouse restore" into a new directory and
// served: every login acknowledged before the backup began is there (its
// token validates, unless it was logged out before the backup began), and
// every token whose logout was acknowledged before the backup began is
// still refused. The load is bounded in count and stops by itself.
func TestBackupRestoreUnderLoad(t *testing.T) {
	sealKey := filepath.Join(t.TempDir(), "seal-key")
	k := make([]byte, 32)
	rand.Read(k)
	os.WriteFile(sealKey, []byte(hex.EncodeToString(k)+"\n"), 0o600)

	a := &server{t: t, data: t.TempDir(), logs: &bytes.Buffer{}, extra: []string{"--seal-key-file", sealKey}}
	a.start()
	apiKey := a.cliJSON("app", "create", "Backup")["apiKey"].(string)

	type op struct {
		token       string
		loginAck    time.Time
		logoutStart time.Time
		logoutAck   time.Time // zero: not logged out
	}
	var (
		mu  sync.Mutex
		ops []*op
	)
	const workers, perWorker = 4, 40
	backupAt := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				user := fmt.Sprintf("u%d-%d", w, i)
				st, body := a.call("POST", "/api/v5/sessions", `{"userId":"`+user+`","deviceId":"d-`+user+`"}`, "X-API-Key", apiKey)
				if st != 200 {
					t.Errorf("login: %d %s", st, body)
					return
				}
				o := &op{token: jsonField(t, body, "accessToken"), loginAck: time.Now()}
				mu.Lock()
				ops = append(ops, o)
				mu.Unlock()
				if i%2 == 0 { // every other session is logged out
					o.logoutStart = time.Now()
					if st, body := a.call("DELETE", "/api/v4/sessions", "", "Authorization", "Bearer "+o.token); st != 200 {
						t.Errorf("logout: %d %s", st, body)
						return
					}
					o.logoutAck = time.Now()
				}
				if i == perWorker/2 && w == 0 {
					close(backupAt) // half-way through: back up
				}
			}
		}()
	}
	<-backupAt
	backupFile := filepath.Join(t.TempDir(), "gatehouse-backup.db")
	began := time.Now()
	out := a.cli("backup", "--out", backupFile, "--json")
	ended := time.Now()
	wg.Wait()
	if !strings.Contains(out, `"bytes":`) {
		t.Fatalf("backup: %s", out)
	}
	a.stop()

	// Restore into a new directory, with the seal key, and serve it.
	data := filepath.Join(t.TempDir(), "restored")
	if _, errOut, code := runCLI(t, nil, "restore", "--from", backupFile, "--data", data, "--seal-key-file", sealKey); code != 0 {
		t.Fatalf("restore: exit %d %s", code, errOut)
	}
	// Restoring again over it is refused.
	if _, errOut, code := runCLI(t, nil, "restore", "--from", backupFile, "--data", data); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("restore over a restored directory: exit %d %s", code, errOut)
	}
	b := &server{t: t, data: data, logs: &bytes.Buffer{}}
	b.start()

	var kept, refused int
	for _, o := range ops {
		valid := func() int {
			st, _ := b.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+o.token)
			return st
		}
		switch {
		case !o.logoutAck.IsZero() && o.logoutAck.Before(began):
			if st := valid(); st != 401 {
				t.Errorf("a token logged out before the backup validates after the restore: %d", st)
			}
			refused++
		case o.loginAck.Before(began) && (o.logoutAck.IsZero() || o.logoutStart.After(ended)):
			if st := valid(); st != 200 {
				t.Errorf("a login acknowledged before the backup is missing after the restore: %d", st)
			}
			kept++
		}
	}
	if kept == 0 || refused == 0 {
		t.Fatalf("the load did not straddle the backup: %d kept, %d refused of %d", kept, refused, len(ops))
	}
	t.Logf("%d sessions, %d kept and %d refused as before the backup", len(ops), kept, refused)
}
