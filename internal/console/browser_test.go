package console_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse"
)

// startBrowser starts Debian's chromium headless with a fresh profile. With
// CI=true a missing chromium fails the test (.ci/run installs it); elsewhere
// the test is skipped, saying how to run it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is not installed, and CI=true requires the browser tests: %v (.ci/run installs it with apt-get install -y chromium)", err)
		}
		t.Skip("skipping the browser test: chromium is not installed (apt-get install -y chromium); CI=true makes this a failure")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser with a context that has no deadline (see
	// chromedp.Run), then bound the whole test.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Accept the confirm() of destructive actions, as an operator would.
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	tctx, tcancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(tcancel)
	return tctx
}

// shots saves screenshots under a temporary directory (or
// GATEHOUSE_SCREENSHOTS, to look at them) and checks each is not blank.
type shots struct {
	t   *testing.T
	dir string
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shots{t: t, dir: dir}
}

func (s *shots) take(ctx context.Context, name string) {
	s.t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		s.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if colors, top := variety(img); colors < 20 || top > 0.97 {
		s.t.Fatalf("screenshot %s looks blank: %d colours, the commonest covers %.1f%%", path, colors, top*100)
	}
}

// variety counts the distinct colours of img (sampled) and the share of the
// commonest.
func variety(img image.Image) (int, float64) {
	counts := map[[4]uint32]int{}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			counts[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}]++
			n++
		}
	}
	top := 0
	for _, c := range counts {
		top = max(top, c)
	}
	return len(counts), float64(top) / float64(n)
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		h, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nat %s:\n%.3000s", what, err, loc, h)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func html(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signIn(t *testing.T, ctx context.Context, base, name, password string) {
	t.Helper()
	do(t, ctx, "sign in as "+name,
		chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("live-sessions")),
	)
}

// secureLogin logs a user in through the client API with an auth token
// minted with the server key, as an app and its backend do.
func secureLogin(t *testing.T, base, apiKey, serverKey, userID, displayName string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v4/authentication/token", strings.NewReader(fmt.Sprintf(`{"userId":%q}`, userID)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-server-key", serverKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok bytes.Buffer
	tok.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("auth token: %d %s", res.StatusCode, tok.String())
	}
	body := fmt.Sprintf(`{"userId":%q,"displayName":%q,"deviceId":"phone-%s","deviceInfo":{"kind":"ios","model":"iPhone 15"},"authToken":%q}`, userID, displayName, userID, tok.String())
	req, _ = http.NewRequest("POST", base+"/api/v5/sessions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", apiKey)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(res.Body)
	res.Body.Close()
	return res.StatusCode, out.String()
}

var appPathRe = regexp.MustCompile(`/console/apps/([A-Za-z0-9_]+)$`)

// TestBrowserOperatorJourney drives the console in a real browser: sign in,
// create an app, turn secure mode on, create a server key and see it
// exactly once, find a user created by a real login, ban them and see
// their next login refused, find both actions in the audit log; a viewer
// cannot ban. Screenshots of the main pages are checked not to be blank.
func TestBrowserOperatorJourney(t *testing.T) {
	ctx := startBrowser(t)
	e := newEnv(t)
	base := e.srv.URL
	shot := newShots(t)
	ownerPW := e.admin("olga", gatehouse.RoleOwner)

	signIn(t, ctx, base, "olga", ownerPW)
	shot.take(ctx, "dashboard-empty")

	// Create an app: its API key is shown once, on the answer to the form.
	do(t, ctx, "create app",
		chromedp.Navigate(base+"/console/apps"),
		chromedp.SendKeys(chromedp.ID("app-name"), "Chat"),
		chromedp.Click(chromedp.ID("create-app")),
		chromedp.WaitVisible(chromedp.ID("secret-value")),
	)
	apiKey := text(t, ctx, "#secret-value")
	if len(apiKey) != 64 {
		t.Fatalf("API key shown: %q", apiKey)
	}
	do(t, ctx, "open app", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("secure-warning")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	m := appPathRe.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("app page at %s", loc)
	}
	appID := m[1]
	if w := text(t, ctx, "#secure-warning"); !strings.Contains(w, "any user id") {
		t.Fatalf("secure-mode warning: %q", w)
	}
	shot.take(ctx, "app-settings-secure-off")
	// While secure mode is off, the API key alone logs a user in, with
	// the display name the app sends.
	if st := e.loginUser(apiKey, `{"userId":"mallory","displayName":"<img src=x onerror=alert(1)>","deviceId":"web-1","deviceInfo":{"kind":"web"}}`); st != 200 {
		t.Fatalf("plain login: %d", st)
	}

	// Turn secure mode on.
	do(t, ctx, "secure mode on", chromedp.Click(chromedp.ID("secure-on")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if s := text(t, ctx, "#secure-state"); s != "on" {
		t.Fatalf("secure mode after turning it on: %q", s)
	}
	if strings.Contains(html(t, ctx), `id="secure-warning"`) {
		t.Fatal("the secure-mode warning stays after turning it on")
	}
	if a, _ := e.svc.App(context.Background(), appID); !a.SecureMode {
		t.Fatal("secure mode is not on in the store")
	}

	// A server key, shown exactly once.
	do(t, ctx, "create server key",
		chromedp.Navigate(base+"/console/apps/"+appID+"/keys"),
		chromedp.Click(chromedp.ID("create-server-keys")),
		chromedp.WaitVisible(chromedp.ID("secret-value")),
	)
	serverKey := text(t, ctx, "#secret-value")
	if len(serverKey) != 64 || !strings.Contains(html(t, ctx), `data-copy="secret-value"`) {
		t.Fatalf("server key page: key %q", serverKey)
	}
	shot.take(ctx, "server-key-once")
	do(t, ctx, "back to keys", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.CSS("code.hint")))
	keysPage := html(t, ctx)
	if strings.Contains(keysPage, serverKey) || !strings.Contains(keysPage, serverKey[:16]+"…") {
		t.Fatal("the keys page shows the server key again, or not its hint")
	}
	shot.take(ctx, "keys")

	// Users created by real logins through the client API.
	if st, body := secureLogin(t, base, apiKey, serverKey, "bob", "Bob"); st != 200 {
		t.Fatalf("secure login: %d %s", st, body)
	}
	for _, p := range []string{"/console/", "/console/apps/" + appID, "/console/apps/" + appID + "/users", "/console/audit"} {
		do(t, ctx, "visit "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main")))
		if strings.Contains(html(t, ctx), serverKey) {
			t.Fatalf("%s shows the server key", p)
		}
	}
	do(t, ctx, "search user",
		chromedp.Navigate(base+"/console/apps/"+appID+"/users"),
		chromedp.SendKeys(chromedp.ID("user-search"), "mall"),
		chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("query-echo")),
	)
	if c := text(t, ctx, "#user-count"); !strings.Contains(c, "1–1 of 1 user") {
		t.Fatalf("search count: %q", c)
	}
	if n := text(t, ctx, "td.display-name"); n != "<img src=x onerror=alert(1)>" {
		t.Fatalf("display name shown as %q, want the markup as text", n)
	}
	shot.take(ctx, "users-search")
	do(t, ctx, "open user", chromedp.Click(chromedp.CSS("a.user-link")), chromedp.WaitVisible(chromedp.ID("ban")))
	shot.take(ctx, "user-before-ban")

	// Ban: the next login is refused.
	do(t, ctx, "ban", chromedp.Click(chromedp.ID("ban")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if s := text(t, ctx, "#user-state"); s != "banned" {
		t.Fatalf("user state after ban: %q", s)
	}
	shot.take(ctx, "user-banned")
	if st, body := secureLogin(t, base, apiKey, serverKey, "mallory", "x"); st != 403 || !strings.Contains(body, "400312") {
		t.Fatalf("login after the ban: %d %s, want 403 with 400312", st, body)
	}

	// Both actions are in the audit log.
	do(t, ctx, "audit", chromedp.Navigate(base+"/console/audit?appId="+appID), chromedp.WaitVisible(chromedp.ID("audit")))
	audit := text(t, ctx, "#audit")
	for _, want := range []string{"user.ban", "app.update", "server_key.create", "app.create", "olga"} {
		if !strings.Contains(audit, want) {
			t.Fatalf("audit log lacks %s:\n%s", want, audit)
		}
	}
	if strings.Contains(html(t, ctx), serverKey) || strings.Contains(html(t, ctx), apiKey) {
		t.Fatal("the audit log shows a key")
	}
	do(t, ctx, "filter audit", chromedp.Navigate(base+"/console/audit?action=user.ban&actor=olga"), chromedp.WaitVisible(chromedp.ID("audit")))
	if a := text(t, ctx, "#audit"); !strings.Contains(a, "mallory") || strings.Contains(a, "server_key.create") {
		t.Fatalf("filtered audit log:\n%s", a)
	}
	shot.take(ctx, "audit")
	do(t, ctx, "dashboard", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("live-sessions")))
	if n := text(t, ctx, "#live-sessions"); n != "1" {
		t.Fatalf("live sessions on the dashboard: %q (bob's)", n)
	}
	shot.take(ctx, "dashboard")

	// A viewer, created in the console, cannot ban.
	do(t, ctx, "create viewer",
		chromedp.Navigate(base+"/console/admins"),
		chromedp.SendKeys(chromedp.ID("admin-name"), "vic"),
		chromedp.Click(chromedp.ID("create-admin")),
		chromedp.WaitVisible(chromedp.ID("secret-value")),
	)
	viewerPW := text(t, ctx, "#secret-value")
	do(t, ctx, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))
	signIn(t, ctx, base, "vic", viewerPW)
	do(t, ctx, "viewer opens bob", chromedp.Navigate(base+"/console/apps/"+appID+"/users/bob"), chromedp.WaitVisible(chromedp.ID("user-state")))
	viewerPage := html(t, ctx)
	if strings.Contains(viewerPage, `id="ban"`) || strings.Contains(viewerPage, `id="delete"`) {
		t.Fatal("a viewer is offered ban or delete")
	}
	shot.take(ctx, "user-as-viewer")
	// Forge the form the page does not offer: the server refuses it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){
		var f = document.createElement("form"); f.method = "post"; f.action = location.pathname + "/ban";
		var i = document.createElement("input"); i.type = "hidden"; i.name = "csrf";
		i.value = document.querySelector("input[name=csrf]").value; f.appendChild(i);
		document.body.appendChild(f); f.submit(); return true })()`)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "refusal page", chromedp.WaitVisible(chromedp.ID("error-message")))
	if msg := text(t, ctx, "#error-message"); !strings.Contains(msg, "viewer cannot change") {
		t.Fatalf("viewer's ban answered %q", msg)
	}
	if u, _ := e.svc.User(context.Background(), appID, "bob"); u.Banned {
		t.Fatal("a viewer banned bob")
	}
	if st, _ := secureLogin(t, base, apiKey, serverKey, "bob", "Bob"); st != 200 {
		t.Fatalf("bob's login after the viewer's attempt: %d", st)
	}
}
