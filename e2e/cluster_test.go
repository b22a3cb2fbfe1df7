package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
)

// cluster is several "gatehouse serve" processes on loopback ports sharing
// one PostgreSQL database (and its seal key), as behind a load balancer.
type cluster struct {
	t     *testing.T
	url   string
	nodes []*server
}

// startCluster starts n nodes on a fresh database of the test PostgreSQL
// (pgtest: skipped when it is unreachable, unless CI=true). extra are more
// serve flags for every node.
func startCluster(t *testing.T, n int, extra ...string) *cluster {
	t.Helper()
	return startClusterOn(t, pgtest.URL(t), n, extra...)
}

func startClusterOn(t *testing.T, url string, n int, extra ...string) *cluster {
	t.Helper()
	seal := filepath.Join(t.TempDir(), "seal-key")
	if err := os.WriteFile(seal, []byte(strings.Repeat("5c", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, url: url}
	for range n {
		s := &server{t: t, data: t.TempDir(), logs: &bytes.Buffer{},
			extra: append([]string{"--database-url", url, "--seal-key-file", seal}, extra...)}
		s.start()
		c.nodes = append(c.nodes, s)
	}
	return c
}

// within polls f every few milliseconds until it returns true, failing
// after d; it returns how long that took.
func within(t *testing.T, d time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !f() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func statusIs(s *server, tok string, want int) func() bool {
	return func() bool { st, _ := s.validate(tok); return st == want }
}

// TestClusterRevocation: three nodes on one database; a token revoked
// (secure logout) through node A is refused by nodes B and C within one
// second; the user's other token stays valid everywhere.
func TestClusterRevocation(t *testing.T) {
	c := startCluster(t, 3)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	app := a.cliJSON("app", "create", "cluster")
	apiKey := app["apiKey"].(string)
	// The app and its key reach the other nodes through the log.
	within(t, 5*time.Second, "login on node C with an app created on A", func() bool {
		st, _ := cc.call("POST", "/api/v5/sessions", `{"userId":"warmup","deviceId":"w"}`, "X-API-Key", apiKey)
		return st == 200
	})
	for round := range 5 {
		tok := a.login(apiKey, "alice", "d1")
		other := b.login(apiKey, "alice", "d2")
		for _, n := range c.nodes {
			within(t, time.Second, "fresh token valid on every node", statusIs(n, tok, 200))
		}
		start := time.Now()
		if st, body := a.call("DELETE", "/api/v4/sessions", "", "Authorization", "Bearer "+tok); st != 200 {
			t.Fatalf("logout: %d %s", st, body)
		}
		if st, _ := a.validate(tok); st != 401 {
			t.Fatalf("node A validated the token it had just logged out: %d", st)
		}
		within(t, time.Second, "revoked token refused by node C", statusIs(cc, tok, 401))
		dC := time.Since(start)
		within(t, time.Second, "revoked token refused by node B", statusIs(b, tok, 401))
		st, body := cc.validate(tok)
		wantErrorBody(t, st, body, 401, 400100)
		for _, n := range c.nodes {
			if st, body := n.validate(other); st != 200 {
				t.Fatalf("the other device's token on %s: %d %s", n.URL, st, body)
			}
		}
		t.Logf("round %d: node C refused the token %v after the logout began", round, dC)
	}
}

// TestClusterBanAndRevokeRealtime: the official TypeScript SDK holds its
// realtime connection on node C; a ban made through node B is refused by
// A and C within one second of its commit and the SDK reaches terminated;
// a revoke-all
// made through A closes another user's MQTT connection on C.
func TestClusterBanAndRevokeRealtime(t *testing.T) {
	c := startCluster(t, 3)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	app := a.cliJSON("app", "create", "cluster")
	appID, apiKey := app["appId"].(string), app["apiKey"].(string)
	within(t, 5*time.Second, "login on node C with an app created on A", func() bool {
		st, _ := cc.call("POST", "/api/v5/sessions", `{"userId":"warmup","deviceId":"w"}`, "X-API-Key", apiKey)
		return st == 200
	})
	alice := startLiveSDK(t, cc, apiKey, "alice")
	bob := startLiveSDK(t, cc, apiKey, "bob")
	alice.connected()
	bob.connected()
	tok := a.login(apiKey, "alice", "laptop")

	start := time.Now()
	b.cliJSON("user", "ban", appID, "alice")
	// The bound the cluster promises is on the servers: once the ban is
	// committed (the CLI has returned), every node refuses the token within
	// one second. The SDK's own reaction (an MQTT event through node C, then
	// Node.js scheduling) is checked with a looser bound: on a loaded 2-core
	// CI machine the process start of the CLI alone can take a good part of
	// a second.
	committed := time.Now()
	for _, n := range []*server{a, cc} {
		within(t, time.Second-time.Since(committed), "banned user's token refused", statusIs(n, tok, 403))
		st, body := n.validate(tok)
		wantErrorBody(t, st, body, 403, 400312)
	}
	alice.nextState("terminated", 5*time.Second)
	t.Logf("ban through B: the SDK on C reported terminated %v after the CLI started (%v after it returned)",
		time.Since(start), time.Since(committed))
	alice.send("reconnect")
	if e := alice.next("reconnect", 10*time.Second); !e.Refused || e.Code != 2 {
		t.Fatalf("reconnect to node C with the banned user's token: %+v, want CONNACK 2", e)
	}

	// Revoke-all through A closes bob's connection on C.
	bob.send("status")
	if e := bob.next("status", 5*time.Second); !e.MQTTConnected {
		t.Fatalf("bob before the revoke: %+v", e)
	}
	a.cliJSON("session", "revoke-all", appID, "bob")
	within(t, 2*time.Second, "bob's MQTT connection on C closed by a revoke-all through A", func() bool {
		bob.send("status")
		return !bob.next("status", 5*time.Second).MQTTConnected
	})
}

// TestClusterAppSettings: app settings changed through node A apply on node
// B: secure mode on refuses logins without an auth token; a revoked API key
// stops working.
func TestClusterAppSettings(t *testing.T) {
	c := startCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	app := a.cliJSON("app", "create", "cluster")
	appID, apiKey := app["appId"].(string), app["apiKey"].(string)
	login := func() (int, []byte) {
		return b.call("POST", "/api/v5/sessions", `{"userId":"alice","deviceId":"d1"}`, "X-API-Key", apiKey)
	}
	within(t, 5*time.Second, "login on B", func() bool { st, _ := login(); return st == 200 })
	a.cliJSON("app", "secure-mode", appID, "on")
	within(t, time.Second, "secure mode set on A refuses a login without auth token on B", func() bool { st, _ := login(); return st == 401 })
	st, body := login()
	wantErrorBody(t, st, body, 401, 400100)
	if !strings.Contains(string(body), "authToken") {
		t.Fatalf("login on B in secure mode: %s", body)
	}
	a.cliJSON("app", "secure-mode", appID, "off")
	within(t, time.Second, "secure mode off again on B", func() bool { st, _ := login(); return st == 200 })
}

// TestClusterFirstLoginsOneUser: the first logins of one new user, racing
// on three nodes, make one user.
func TestClusterFirstLoginsOneUser(t *testing.T) {
	c := startCluster(t, 3)
	app := c.nodes[0].cliJSON("app", "create", "cluster")
	apiKey := app["apiKey"].(string)
	for _, n := range c.nodes {
		within(t, 5*time.Second, "app known on every node", func() bool {
			st, _ := n.call("POST", "/api/v5/sessions", `{"userId":"warmup","deviceId":"w"}`, "X-API-Key", apiKey)
			return st == 200
		})
	}
	for u := range 10 {
		user := fmt.Sprint("new-user-", u)
		ids := make([]string, len(c.nodes))
		var wg sync.WaitGroup
		for i, n := range c.nodes {
			wg.Go(func() {
				st, body := n.call("POST", "/api/v5/sessions", toJSON(map[string]any{"userId": user, "deviceId": fmt.Sprint("dev-", i)}), "X-API-Key", apiKey)
				var r struct {
					Users []struct {
						ID string `json:"_id"`
					}
				}
				if st != 200 || json.Unmarshal(body, &r) != nil || len(r.Users) != 1 {
					t.Errorf("first login of %s on node %d: %d %s", user, i, st, body)
					return
				}
				ids[i] = r.Users[0].ID
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		if ids[0] != ids[1] || ids[1] != ids[2] {
			t.Fatalf("racing first logins of %s made users %v, want one", user, ids)
		}
	}
}

// TestClusterListenConnectionKilled: node C's LISTEN connection is killed
// (pg_terminate_backend) just before a revocation through node A; C
// catches up from the log (its poll), never validates the revoked token
// past the fail-closed bound, and listens again by itself.
func TestClusterListenConnectionKilled(t *testing.T) {
	const bound = 2 * time.Second
	c := startCluster(t, 3, "--fail-closed-after", bound.String())
	a, cc := c.nodes[0], c.nodes[2]
	app := a.cliJSON("app", "create", "cluster")
	apiKey := app["apiKey"].(string)
	within(t, 5*time.Second, "app known on C", func() bool {
		st, _ := cc.call("POST", "/api/v5/sessions", `{"userId":"warmup","deviceId":"w"}`, "X-API-Key", apiKey)
		return st == 200
	})
	conn, err := pgx.Connect(t.Context(), c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	listener := postgres.ListenerName(cc.cmd.Process.Pid)
	listening := func() bool {
		var n int
		conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()", listener).Scan(&n)
		return n == 1
	}
	within(t, 10*time.Second, "node C listening", listening)

	for round := range 3 {
		tok := a.login(apiKey, "alice", fmt.Sprint("d", round))
		within(t, time.Second, "fresh token valid on C", statusIs(cc, tok, 200))
		var killed int
		if err := conn.QueryRow(t.Context(), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()", listener).Scan(&killed); err != nil || killed != 1 {
			t.Fatalf("killed %d listening connections of node C, %v", killed, err)
		}
		revoked := time.Now()
		if st, body := a.call("DELETE", "/api/v4/sessions", "", "Authorization", "Bearer "+tok); st != 200 {
			t.Fatalf("logout: %d %s", st, body)
		}
		var lastOK time.Time
		d := within(t, bound, "node C refuses the revoked token without its LISTEN connection", func() bool {
			st, _ := cc.validate(tok)
			if st == 200 {
				lastOK = time.Now()
			}
			return st == 401
		})
		if !lastOK.IsZero() && lastOK.Sub(revoked) > bound {
			t.Fatalf("node C validated the revoked token %v after the revocation (bound %v)", lastOK.Sub(revoked), bound)
		}
		t.Logf("round %d: node C refused the revoked token %v after the logout, with its LISTEN connection killed", round, d)
		within(t, 10*time.Second, "node C listening again", listening)
		if st, body := cc.call("GET", "/readyz", ""); st != 200 {
			t.Fatalf("readyz on C after it caught up: %d %s", st, body)
		}
	}
	cc.stop() // its log is written until it exits
	if !strings.Contains(cc.logs.String(), "event listener connection lost") {
		t.Fatalf("node C did not log the lost listener:\n%s", cc.logs)
	}
}
