// Command loadbench measures Gatehouse's hot paths against a trivial Go
// net/http handler on the same machine, in the same run, and prints
// requests/s, p99 latency and the ratios:
//
//	go run ./cmd/loadbench [-rounds 3] [-duration 3s] [-conns 32] [-postgres URL]
//
// It builds cmd/gatehouse, starts it on a fresh embedded store (or, with
// -postgres, on a fresh database it creates on that server and drops at
// the end), starts the
// trivial handler in a second process, and drives each from this process
// with 32 keep-alive connections on 2 threads (GOMAXPROCS=2), interleaving
// the scenarios in every round and reporting medians.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	trivial := flag.Bool("trivial-server", false, "internal: run the trivial handler")
	rounds := flag.Int("rounds", 3, "rounds; each runs every scenario once")
	duration := flag.Duration("duration", 3*time.Second, "measured time per scenario and round")
	pprofAddr = flag.String("gatehouse-pprof", "", "start gatehouse with --pprof-addr `HOST:PORT` (to profile it under load)")
	warmup := flag.Duration("warmup", time.Second, "unmeasured time before each measurement")
	conns := flag.Int("conns", 32, "concurrent keep-alive connections")
	threads := flag.Int("threads", 2, "GOMAXPROCS of the load generator")
	users := flag.Int("users", 5000, "returning users for the login scenario")
	postgresURL = flag.String("postgres", "", "run gatehouse on PostgreSQL: a fresh database created through this `URL` (e.g. postgres://postgres@127.0.0.1:5432/postgres) and dropped at the end")
	flag.Parse()
	if *trivial {
		runTrivial()
		return
	}
	runtime.GOMAXPROCS(*threads)
	if err := run(*rounds, *duration, *warmup, *conns, *users); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// runTrivial is the baseline: the least a Go HTTP server can do per request.
func runTrivial() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	body := []byte(`{"ok":true}`)
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
}

const adminToken = "gha_c81d5e2f9a06b47c3e1d8f25a97b04e6"

var pprofAddr, postgresURL *string

// dbCPU, with -postgres, returns the CPU time so far of each PostgreSQL
// backend serving the benchmark's database, by pid (Linux /proc; the
// database on this machine). Nil on SQLite.
var dbCPU func() map[int]time.Duration

func dbBackendsCPU(admin *pgx.Conn, name string) func() map[int]time.Duration {
	return func() map[int]time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rows, err := admin.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
		if err != nil {
			return nil
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return nil
		}
		out := make(map[int]time.Duration, len(pids))
		for _, pid := range pids {
			out[int(pid)] = cpuTime(int(pid))
		}
		return out
	}
}

// freshDatabase creates an empty database through the server at admin and
// returns its URL and a function that drops it.
func freshDatabase(admin string) (string, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("-postgres: %w", err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	name := "gatehouse_loadbench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	if watch, err := pgx.Connect(ctx, admin); err == nil {
		dbCPU = dbBackendsCPU(watch, name)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		drop()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func run(rounds int, duration, warmup time.Duration, nconns, nusers int) error {
	tmp, err := os.MkdirTemp("", "gatehouse-loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "gatehouse")
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("find module root: %w", err)
	}
	build := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build gatehouse: %v\n%s", err, out)
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(tmp, "data"), "--admin-token", adminToken, "--log-level", "warn"}
	if *pprofAddr != "" {
		args = append(args, "--pprof-addr", *pprofAddr)
	}
	if *postgresURL != "" {
		dbURL, drop, err := freshDatabase(*postgresURL)
		if err != nil {
			return err
		}
		defer drop()
		sealKey := filepath.Join(tmp, "seal-key")
		k := make([]byte, 32)
		rand.Read(k)
		if err := os.WriteFile(sealKey, []byte(hex.EncodeToString(k)), 0o600); err != nil {
			return err
		}
		args = append(args, "--database-url", dbURL, "--seal-key-file", sealKey)
		fmt.Fprintf(os.Stderr, "gatehouse on PostgreSQL (a fresh database through %s)\n", *postgresURL)
	}
	gh, err := start(bin, args...)
	if err != nil {
		return err
	}
	defer gh.stop()
	self, _ := os.Executable()
	tr, err := start(self, "-trivial-server")
	if err != nil {
		return err
	}
	defer tr.stop()

	apiKey, tokens, err := setup(gh.url, nconns, nusers)
	if err != nil {
		return err
	}
	ghHost := strings.TrimPrefix(gh.url, "http://")
	trHost := strings.TrimPrefix(tr.url, "http://")
	// Requests are built once: the load generator should spend its CPU on
	// sending and reading, as wrk does, not on formatting.
	trivialReq := []byte("GET / HTTP/1.1\r\nHost: " + trHost + "\r\n\r\n")
	validateReqs := make([][]byte, nconns)
	for c := range nconns {
		validateReqs[c] = []byte("GET /api/v3/sessions HTTP/1.1\r\nHost: " + ghHost + "\r\nAuthorization: Bearer " + tokens[c] + "\r\n\r\n")
	}
	loginReqs := make([][]byte, nusers)
	for u := range nusers {
		body := fmt.Sprintf(`{"userId":"user-%d","deviceId":"device-%d","deviceInfo":{"kind":"web","sdkVersion":"v6.35.3-cjs"}}`, u, u)
		loginReqs[u] = []byte("POST /api/v5/sessions HTTP/1.1\r\nHost: " + ghHost + "\r\nX-API-Key: " + apiKey +
			"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	var newDevices atomic.Int64
	scenarios := []scenario{
		{name: "trivial handler (GET /)", host: trHost, pid: tr.cmd.Process.Pid, request: func(c, i int) []byte { return trivialReq }},
		{name: "validate (GET /api/v3/sessions)", host: ghHost, pid: gh.cmd.Process.Pid, request: func(c, i int) []byte { return validateReqs[c] }},
		{name: "login, returning user (POST /api/v5/sessions)", host: ghHost, pid: gh.cmd.Process.Pid, request: func(c, i int) []byte {
			return loginReqs[(c+i*nconns)%nusers]
		}},
		// Every login here is on a device the store has never seen: a
		// store transaction (a new session row) per request, what a
		// returning user's first login on a new phone costs.
		{name: "login, returning user on a new device (store write)", host: ghHost, pid: gh.cmd.Process.Pid, request: func(c, i int) []byte {
			n := newDevices.Add(1)
			body := `{"userId":"user-` + strconv.FormatInt(n%int64(nusers), 10) + `","deviceId":"new-` + strconv.FormatInt(n, 10) +
				`","deviceInfo":{"kind":"web","sdkVersion":"v6.35.3-cjs"}}`
			return []byte("POST /api/v5/sessions HTTP/1.1\r\nHost: " + ghHost + "\r\nX-API-Key: " + apiKey +
				"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		}},
	}
	results := make([][]result, len(scenarios))
	for r := range rounds {
		for i, sc := range scenarios {
			res, err := sc.run(nconns, warmup, duration)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d  %-48s %9.0f req/s  p99 %6.2f ms  errors %d  429s %d  CPU/req server %5.1f µs, load generator %5.1f µs\n",
				r+1, sc.name, res.rps, ms(res.p99), res.errors, res.limited, us(res.serverCPU), us(res.clientCPU))
			results[i] = append(results[i], res)
		}
	}
	fmt.Printf("\n%d rounds of %s per scenario, %d connections, load generator GOMAXPROCS=%d, %d CPUs\n\n",
		rounds, duration, nconns, runtime.GOMAXPROCS(0), runtime.NumCPU())
	dbHead, dbSep := "", ""
	if dbCPU != nil {
		dbHead, dbSep = " PostgreSQL backends CPU µs/req |", "---:|"
	}
	fmt.Printf("| scenario | req/s (median) | p99 ms (median) | errors | 429s | ratio to trivial | server CPU µs/req | load generator CPU µs/req |%s\n|---|---:|---:|---:|---:|---:|---:|---:|%s\n", dbHead, dbSep)
	base := median(results[0]).rps
	for i, sc := range scenarios {
		m := median(results[i])
		db := ""
		if dbCPU != nil {
			db = fmt.Sprintf(" %.1f |", us(m.dbCPU))
		}
		fmt.Printf("| %s | %.0f | %.2f | %d | %d | %.2f | %.1f | %.1f |%s\n", sc.name, m.rps, ms(m.p99), m.errors, m.limited, m.rps/base, us(m.serverCPU), us(m.clientCPU), db)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

type proc struct {
	cmd *exec.Cmd
	url string
}

func start(bin string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		l := sc.Text()
		if i := strings.Index(l, "listening on "); i >= 0 {
			go io.Copy(io.Discard, out)
			return &proc{cmd: cmd, url: strings.Fields(l[i+len("listening on "):])[0]}, nil
		}
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("%s did not start", bin)
}

func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()
}

// setup creates an app, logs every user in once (so the login scenario
// measures returning users), and returns one access token per connection.
func setup(base string, nconns, nusers int) (string, []string, error) {
	post := func(path, key string, hdr map[string]string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode >= 300 {
			return nil, fmt.Errorf("POST %s: %d %v %v", path, resp.StatusCode, m, err)
		}
		return m, nil
	}
	app, err := post("/admin/v1/apps", "", map[string]string{"Authorization": "Bearer " + adminToken}, map[string]string{"name": "loadbench"})
	if err != nil {
		return "", nil, err
	}
	key := app["apiKey"].(string)
	var tokens []string
	for u := range nusers {
		s, err := post("/api/v5/sessions", key, map[string]string{"X-API-Key": key}, map[string]any{"userId": fmt.Sprint("user-", u), "deviceId": fmt.Sprint("device-", u),
			"deviceInfo": map[string]string{"kind": "web", "sdkVersion": "v6.35.3-cjs"}})
		if err != nil {
			return "", nil, err
		}
		if len(tokens) < nconns {
			tokens = append(tokens, s["accessToken"].(string))
		}
	}
	return key, tokens, nil
}

type scenario struct {
	name    string
	host    string
	pid     int // the server process, for its CPU time
	request func(conn, i int) []byte
}

type result struct {
	rps    float64
	p99    time.Duration
	errors int
	// limited counts 429 answers (rate limits), warm-up included: the
	// defaults must never refuse this load.
	limited int
	// CPU time per request of the server process and of this load
	// generator, over the measured window.
	serverCPU, clientCPU time.Duration
	// dbCPU is the CPU time per request of the PostgreSQL backends
	// serving the benchmark's database (-postgres only).
	dbCPU time.Duration
}

// cpuTime returns the user+system CPU time of a process (Linux /proc).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesized command name; utime and stime are the
	// 14th and 15th fields, in clock ticks (100 per second on Linux).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

func median(rs []result) result {
	rps := make([]float64, len(rs))
	p99, scpu, ccpu, dcpu := make([]time.Duration, len(rs)), make([]time.Duration, len(rs)), make([]time.Duration, len(rs)), make([]time.Duration, len(rs))
	errs, limited := 0, 0
	for i, r := range rs {
		rps[i], p99[i], scpu[i], ccpu[i], dcpu[i] = r.rps, r.p99, r.serverCPU, r.clientCPU, r.dbCPU
		errs += r.errors
		limited += r.limited
	}
	slices.Sort(rps)
	for _, d := range [][]time.Duration{p99, scpu, ccpu, dcpu} {
		slices.Sort(d)
	}
	mid := len(rs) / 2
	return result{rps: rps[mid], p99: p99[mid], errors: errs, limited: limited, serverCPU: scpu[mid], clientCPU: ccpu[mid], dbCPU: dcpu[mid]}
}

// run drives the scenario: warmup, then a measured window; each connection
// sends a request, reads the whole response, and records its latency.
func (sc scenario) run(nconns int, warmup, duration time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), warmup+duration+30*time.Second)
	defer cancel()
	start := time.Now()
	measureFrom, measureTo := start.Add(warmup), start.Add(warmup+duration)
	var (
		srv0, cli0 time.Duration
		db0        map[int]time.Duration
	)
	cpuMark := time.AfterFunc(warmup, func() {
		srv0, cli0 = cpuTime(sc.pid), cpuTime(os.Getpid())
		if dbCPU != nil {
			db0 = dbCPU()
		}
	})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		lat     []time.Duration
		errs    int
		limited int
		count   int
		connErr error
	)
	for c := range nconns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn, err := net.Dial("tcp", sc.host)
			if err != nil {
				mu.Lock()
				connErr = err
				mu.Unlock()
				return
			}
			defer cn.Close()
			br := bufio.NewReaderSize(cn, 16<<10)
			var mine []time.Duration
			myErrs, myCount, myLimited := 0, 0, 0
			for i := 0; ctx.Err() == nil; i++ {
				req := sc.request(c, i)
				t0 := time.Now()
				if t0.After(measureTo) {
					break
				}
				if _, err := cn.Write(req); err != nil {
					myErrs++
					break
				}
				status, err := readResponse(br)
				t1 := time.Now()
				if err != nil {
					myErrs++
					break
				}
				if status == http.StatusTooManyRequests {
					myLimited++
				}
				if t0.After(measureFrom) {
					myCount++
					mine = append(mine, t1.Sub(t0))
					if status != 200 {
						myErrs++
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += myErrs
			limited += myLimited
			count += myCount
			mu.Unlock()
		}()
	}
	wg.Wait()
	cpuMark.Stop()
	srv1, cli1 := cpuTime(sc.pid), cpuTime(os.Getpid())
	var dbUsed time.Duration
	if dbCPU != nil {
		for pid, t := range dbCPU() {
			dbUsed += t - db0[pid]
		}
	}
	if connErr != nil {
		return result{}, connErr
	}
	if len(lat) == 0 {
		return result{}, errors.New("no requests completed")
	}
	slices.Sort(lat)
	return result{rps: float64(count) / duration.Seconds(), p99: lat[len(lat)*99/100], errors: errs, limited: limited,
		serverCPU: (srv1 - srv0) / time.Duration(count), clientCPU: (cli1 - cli0) / time.Duration(count), dbCPU: dbUsed / time.Duration(count)}, nil
}

// readResponse reads one HTTP/1.1 response with a Content-Length body and
// returns its status code.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 15 && strings.EqualFold(string(h[:15]), "content-length:") {
			length, err = strconv.Atoi(strings.TrimSpace(string(h[15:])))
			if err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	_, err = br.Discard(length)
	return status, err
}
