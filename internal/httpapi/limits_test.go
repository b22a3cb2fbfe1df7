package httpapi_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// want429 checks a rate-limit refusal: 429, the social.plus envelope with
// 400311, and a Retry-After of at least wantSecs whole seconds.
func (r resp) want429(t testing.TB, wantSecs int) int {
	t.Helper()
	r.wantError(t, 429, 400311)
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < wantSecs {
		t.Fatalf("Retry-After %q, want at least %d", r.header.Get("Retry-After"), wantSecs)
	}
	return secs
}

// Before: no limit at all — a client could log one user in (or renew, which
// is a login) in a zero-delay loop forever (SECURITY.md case 60). Now the
// 101st login of one user within 5 s is refused, as on the hosted service
// (wire spec §1.7), other users are untouched, and the limit lifts as the
// bucket refills.
func TestLoginLimitedPerUser(t *testing.T) {
	e := newEnv(t)
	a := e.newApp()
	for range 100 {
		e.login(a, "alice", "phone")
	}
	r := e.loginRaw(a, map[string]any{"userId": "alice", "deviceId": "phone"})
	r.want429(t, 1)
	if !strings.Contains(e.logs.String(), "level=WARN msg=\"request refused by a rate limit\" kind=login_user") {
		t.Errorf("refusal not logged at warn:\n%s", e.logs)
	}
	e.login(a, "bob", "phone")
	e.clock.Advance(time.Second)
	e.login(a, "alice", "phone")
	if n := refusalsCounted(t, "login_user"); n < 1 {
		t.Fatalf("gatehouse_ratelimit_refusals_total{limit=login_user} = %v", n)
	}
}

// refusalsCounted reads the Prometheus refusal counter of a limit.
func refusalsCounted(t *testing.T, limit string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_ratelimit_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "limit" && l.GetValue() == limit {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// SECURITY.md case 75, the noisy neighbour: an app past its login budget
// is refused, with Retry-After, while another app's logins go through.
func TestLoginBudgetPerApp(t *testing.T) {
	cfg := ratelimit.DefaultConfig()
	cfg.LoginPerApp = ratelimit.Rule{Burst: 50, Per: time.Second}
	e := startEnv(t, &env{limits: &cfg})
	noisy, quiet := e.newApp(), e.newApp()
	refused := 0
	for i := range 80 {
		r := e.loginRaw(noisy, map[string]any{"userId": "u" + strconv.Itoa(i), "deviceId": "d" + strconv.Itoa(i)})
		switch r.status {
		case 200:
		case 429:
			r.want429(t, 1)
			refused++
		default:
			t.Fatalf("login: %d %s", r.status, r.body)
		}
	}
	if refused != 30 {
		t.Fatalf("%d of 80 logins refused, want 30 (budget 50)", refused)
	}
	for i := range 10 {
		e.login(quiet, "u"+strconv.Itoa(i), "d"+strconv.Itoa(i))
	}
}

// SECURITY.md cases 74 and 76, and the admin token: wrong credentials from
// one client address are limited per address with a growing back-off. Once
// blocked, the address is refused even with the right credential; another
// address is not affected. Before, there was no limit: any number of
// guesses got 401.
func TestFailedCredentialsBackOff(t *testing.T) {
	cfg := ratelimit.DefaultConfig()
	cfg.FailedCredentials = ratelimit.Rule{Burst: 5, Per: 10 * time.Second} // first block 2 s
	cfg.TrustedProxies, _ = ratelimit.ParseProxies("127.0.0.1")             // so the test can be two clients
	var mu sync.Mutex
	kinds := map[string]int{}
	e := startEnv(t, &env{limits: &cfg, onRefuse: func(k string) { mu.Lock(); kinds[k]++; mu.Unlock() }})
	a := e.newApp()
	e.setSecure(a, true)
	other := "198.51.100.7"
	type attempt func(client string, right bool) resp
	at := e.authToken(a, "alice")
	cases := map[string]struct {
		kind string
		try  attempt
		fail int // status of a wrong credential
	}{
		"api key": {"api_key", func(c string, right bool) resp {
			k := a.APIKey
			if !right {
				k = strings.Repeat("0", len(a.APIKey))
			}
			return e.do("POST", "/api/v5/sessions", map[string]any{"userId": "alice", "deviceId": "d", "authToken": at}, "X-API-Key", k, "X-Forwarded-For", c)
		}, 401},
		"auth token": {"auth_token", func(c string, right bool) resp {
			tok := at
			if !right {
				tok = at[:len(at)-4] + "0000"
			}
			return e.do("POST", "/api/v5/sessions", map[string]any{"userId": "alice", "deviceId": "d", "authToken": tok}, "X-API-Key", a.APIKey, "X-Forwarded-For", c)
		}, 401},
		"server key": {"server_key", func(c string, right bool) resp {
			k := a.ServerKey
			if !right {
				k = "wrong-" + k
			}
			return e.do("POST", "/api/v4/authentication/token", map[string]string{"userId": "alice"}, "x-server-key", k, "X-Forwarded-For", c)
		}, 401},
		"admin token": {"admin_token", func(c string, right bool) resp {
			k := adminToken
			if !right {
				k = "wrong-" + k
			}
			return e.do("GET", "/admin/v1/apps", nil, "Authorization", "Bearer "+k, "X-Forwarded-For", c)
		}, 401},
	}
	n := 0
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n++
			client := "203.0.113." + strconv.Itoa(n)
			for i := range 5 {
				if r := tc.try(client, false); r.status != tc.fail {
					t.Fatalf("wrong credential %d: %d %s", i+1, r.status, r.body)
				}
			}
			// The sixth failure blocks the address for 2 s.
			if r := tc.try(client, false); r.status != tc.fail {
				t.Fatalf("sixth wrong credential: %d %s", r.status, r.body)
			}
			tc.try(client, true).want429(t, 2)
			if r := tc.try(other, true); r.status != 200 && r.status != 201 {
				t.Fatalf("another client refused: %d %s", r.status, r.body)
			}
			// After the block, one more failure blocks for twice as long.
			e.clock.Advance(2 * time.Second)
			tc.try(client, false)
			if secs := tc.try(client, true).want429(t, 4); secs != 4 {
				t.Fatalf("second block %d s, want 4", secs)
			}
			e.clock.Advance(4 * time.Second)
			if r := tc.try(client, true); r.status != 200 && r.status != 201 {
				t.Fatalf("right credential after the block: %d %s", r.status, r.body)
			}
			mu.Lock()
			defer mu.Unlock()
			if kinds[tc.kind] != 2 {
				t.Fatalf("refusals of kind %s: %d, want 2 (%v)", tc.kind, kinds[tc.kind], kinds)
			}
		})
	}
	logs := e.logs.String()
	for _, secret := range []string{a.APIKey, a.ServerKey, adminToken, at} {
		if strings.Contains(logs, secret) || strings.Contains(logs, secret[:len(secret)-4]) {
			t.Fatal("a credential reached the log")
		}
	}
	if !strings.Contains(logs, "level=WARN msg=\"client address blocked after failed credentials\" kind=admin_token client_addr=") {
		t.Fatalf("block not logged at warn:\n%s", logs)
	}
}

// SECURITY.md case 73: without trusted proxies, rotating X-Forwarded-For
// does not buy fresh budgets: the TCP peer is the key.
func TestForwardedForIgnoredByDefault(t *testing.T) {
	cfg := ratelimit.DefaultConfig()
	cfg.FailedCredentials = ratelimit.Rule{Burst: 3, Per: time.Minute}
	e := startEnv(t, &env{limits: &cfg})
	refused := 0
	for i := range 10 {
		r := e.do("GET", "/admin/v1/apps", nil, "x-admin-token", "guess-"+strconv.Itoa(i), "X-Forwarded-For", "192.0.2."+strconv.Itoa(i))
		if r.status == 429 {
			refused++
		}
	}
	if refused != 6 {
		t.Fatalf("%d of 10 guesses refused with 429, want 6 (budget 3, one more to block)", refused)
	}
	e.do("GET", "/admin/v1/apps", nil, "x-admin-token", adminToken).want429(t, 1)
}

// Refusals are logged at warn, sampled: an attack of many refusals writes
// a line a second, with the count of lines left out.
func TestRefusalLogSampled(t *testing.T) {
	cfg := ratelimit.DefaultConfig()
	cfg.LoginPerUser = ratelimit.Rule{Burst: 1, Per: time.Hour}
	e := startEnv(t, &env{limits: &cfg})
	a := e.newApp()
	e.login(a, "alice", "phone")
	start := time.Now()
	for range 200 {
		e.loginRaw(a, map[string]any{"userId": "alice", "deviceId": "phone"}).want429(t, 1)
	}
	// At most one line a second (wall clock), whatever the machine's speed.
	most := 1 + int(time.Since(start)/time.Second)
	if n := strings.Count(e.logs.String(), "request refused by a rate limit"); n < 1 || n > most || n >= 200 {
		t.Fatalf("%d log lines for 200 refusals in %v, want a sample (at most %d)", n, time.Since(start), most)
	}
}
