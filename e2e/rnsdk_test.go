package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatehouse-auth/gatehouse/mint"
)

// The official React Native SDK (@amityco/ts-sdk-react-native 7.20.0,
// pinned by e2e/rnsdk/package-lock.json) driven under Node.js by
// e2e/rnsdk/run.js, with stand-ins for react-native and its two native
// modules (e2e/rnsdk/standins.js), against the real binary. It covers the
// calls only this SDK makes: visitor and bot sessions, and
// loginWithAccessToken with a customer-signed token. (The raw-TCP replay of
// its calls in internal/httpapi/customer_test.go stays beside it: it pins
// the exact bytes.)

func requireRNSDK(t *testing.T) string {
	return requireNodePackage(t, "rnsdk", "@amityco/ts-sdk-react-native")
}

type rnEvent struct {
	Event       string `json:"event"`
	State       string `json:"state"`
	OK          bool   `json:"ok"`
	Error       string `json:"error"`
	Code        int    `json:"code"`
	UserType    string `json:"userType"`
	DeviceID    string `json:"deviceId"`
	AccessToken string `json:"accessToken"`
	User        *struct {
		UserID     string `json:"userId"`
		InternalID string `json:"_id"`
	} `json:"user"`
}

type rnRun struct {
	steps  []rnEvent
	states []string
}

// runRN runs e2e/rnsdk/run.js with the steps and returns each step's
// outcome, in order, and every state the SDK reported.
func runRN(t *testing.T, s *server, apiKey, deviceID string, steps ...map[string]any) rnRun {
	t.Helper()
	dir := requireRNSDK(t)
	arg, _ := json.Marshal(map[string]any{"http": s.URL, "apiKey": apiKey, "deviceId": deviceID, "steps": steps})
	cmd := exec.Command("node", "run.js", string(arg))
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node run.js: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var r rnRun
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e rnEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad line from run.js: %q", sc.Text())
		}
		switch e.Event {
		case "crash":
			t.Fatalf("run.js crashed: %s", e.Error)
		case "state":
			r.states = append(r.states, e.State)
		default:
			r.steps = append(r.steps, e)
		}
	}
	if len(r.steps) != len(steps) {
		t.Fatalf("run.js reported %d steps of %d: %+v\nstderr: %s", len(r.steps), len(steps), r.steps, stderr.String())
	}
	return r
}

// mqttConnect opens /mqtt with an MQTT 3.1.1 client as the SDKs do.
func mqttConnect(s *server, username, password string) (paho.Client, error) {
	opts := paho.NewClientOptions().AddBroker(strings.Replace(s.URL, "http://", "ws://", 1) + "/mqtt").
		SetUsername(username).SetPassword(password).SetClientID("rnsdk-e2e-" + username).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

func step(do string, kv ...string) map[string]any {
	m := map[string]any{"do": do}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestRNSDKVisitorAndBot: with visitors and bots turned on through the CLI,
// loginAsVisitor reaches established with getCurrentUserType() "visitor";
// the same device logging in again is the same user; loginAsBot (which the
// SDK sends with the visitor's token still in Authorization) gives "bot".
// The visitor's token is read-only: refused on /mqtt and for writes.
func TestRNSDKVisitorAndBot(t *testing.T) {
	s := startServer(t)
	appID, apiKey := newSDKApp(t, s)
	set := s.cliJSON("app", "set", appID, "--visitors", "on", "--bots", "on")
	if set["visitors"] != "on" || set["bots"] != true {
		t.Fatalf("app set: %v", set)
	}
	r := runRN(t, s, apiKey, "", step("visitor"), step("logout"), step("visitor"), step("bot"))
	v1, v2, bot := r.steps[0], r.steps[2], r.steps[3]
	if !v1.OK || v1.State != "established" || v1.UserType != "visitor" || v1.User == nil || !strings.HasPrefix(v1.User.UserID, "visitor-") {
		t.Fatalf("loginAsVisitor: %+v (states %v)", v1, r.states)
	}
	if !strings.HasPrefix(v1.DeviceID, "ascWebSdk#") {
		t.Fatalf("the SDK's device id %q", v1.DeviceID)
	}
	if !v2.OK || v2.State != "established" || v2.User == nil || v2.User.InternalID != v1.User.InternalID {
		t.Fatalf("same device again: %+v, first %+v", v2, v1)
	}
	if !bot.OK || bot.State != "established" || bot.UserType != "bot" || bot.User == nil || !strings.HasPrefix(bot.User.UserID, "bot-") {
		t.Fatalf("loginAsBot: %+v (states %v)", bot, r.states)
	}
	if got := strings.Join(r.states, ","); got != "establishing,established,notLoggedIn,establishing,established,establishing,established" {
		t.Fatalf("states = %s", got)
	}
	// The visitor's session was replaced by the bot's on that device; a
	// fresh visitor token is read-only.
	r = runRN(t, s, apiKey, "", step("visitor"))
	tok := r.steps[0].AccessToken
	st, body := s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+tok)
	if st != 200 || !strings.Contains(string(body), `"userType":"visitor"`) {
		t.Fatalf("validation of the SDK's visitor token: %d %s", st, body)
	}
	st, body = s.call("POST", "/api/v3/anything", "{}", "Authorization", "Bearer "+tok)
	wantErrorBody(t, st, body, 403, 400301)
	if _, err := mqttConnect(s, r.steps[0].User.InternalID, tok); err == nil || !strings.Contains(err.Error(), "identifier rejected") {
		t.Fatalf("visitor token on /mqtt: %v, want identifier rejected", err)
	}
}

// TestRNSDKVisitorsOff: visitors are off by default: loginAsVisitor is
// refused (403/400300) and the SDK reports notLoggedIn; bots likewise.
// (The SDK's own sessionState field stays "establishing" after a refused
// login; what it reports to onSessionStateChange is notLoggedIn.)
func TestRNSDKVisitorsOff(t *testing.T) {
	s := startServer(t)
	_, apiKey := newSDKApp(t, s)
	r := runRN(t, s, apiKey, "", step("visitor"), step("bot"))
	for _, e := range r.steps {
		if e.OK || e.Code != 400300 || e.AccessToken != "" {
			t.Fatalf("%s with visitors and bots off: %+v (states %v)", e.Event, e, r.states)
		}
	}
	// The SDK reports a change only when its state field changes, and that
	// field stays "establishing" after a refusal: the second login reports
	// nothing new. Never established, last notLoggedIn.
	if got := strings.Join(r.states, ","); got != "establishing,notLoggedIn" {
		t.Fatalf("states = %s", got)
	}
}

// TestRNSDKSecureVisitor: in secure visitor mode the SDK's loginAsVisitor
// needs authSignature and authSignatureExpiresAt; with a signature that
// mint computed from a secret the CLI created, for the device id the app
// saved, it reaches established.
func TestRNSDKSecureVisitor(t *testing.T) {
	s := startServer(t)
	appID, apiKey := newSDKApp(t, s)
	s.cliJSON("app", "set", appID, "--visitors", "secure")
	created := s.cliJSON("app", "visitor-secret", "create", appID)
	secret, _ := created["visitorSecret"].(string)
	secretID, _ := created["secretId"].(string)
	if len(secret) != 64 || secretID == "" {
		t.Fatalf("visitor-secret create: %v", created)
	}
	if list := s.cli("app", "visitor-secret", "list", appID); !strings.Contains(list, secretID) || strings.Contains(list, secret) {
		t.Fatalf("visitor-secret list: %s", list)
	}
	const device = "ascWebSdk#6f1e0c8e-4b5a-4c1e-9b1a-0d6e2f3a4b5c"
	sig, exp, err := mint.VisitorSignature(secret, device, time.Now().Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	otherSig, otherExp, _ := mint.VisitorSignature(secret, "another-device", time.Now().Add(10*time.Minute))
	r := runRN(t, s, apiKey, device,
		step("visitor"),
		step("visitor", "authSignature", otherSig, "authSignatureExpiresAt", otherExp),
		step("visitor", "authSignature", sig, "authSignatureExpiresAt", exp),
		step("secureLogout"))
	for i, e := range r.steps[:2] {
		if e.OK || e.Code != 400100 || e.AccessToken != "" {
			t.Fatalf("refused step %d: %+v", i, e)
		}
	}
	if ok := r.steps[2]; !ok.OK || ok.State != "established" || ok.UserType != "visitor" || ok.DeviceID != device {
		t.Fatalf("signed visitor login: %+v (states %v)", ok, r.states)
	}
	// A visitor's secureLogout is the one write its token may make.
	if lo := r.steps[3]; !lo.OK || lo.State != "notLoggedIn" {
		t.Fatalf("visitor secureLogout: %+v", lo)
	}
	st, body := s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+r.steps[2].AccessToken)
	wantErrorBody(t, st, body, 401, 400100)
	if got := strings.Join(r.states, ","); got != "establishing,notLoggedIn,established,notLoggedIn" {
		t.Fatalf("states = %s (established only after the signed login)", got)
	}
	// The secret deleted: the same signature no longer lets the device in.
	s.cli("app", "visitor-secret", "delete", appID, secretID)
	r = runRN(t, s, apiKey, device, step("visitor", "authSignature", sig, "authSignatureExpiresAt", exp))
	if e := r.steps[0]; e.OK || e.Code != 400100 {
		t.Fatalf("signature of a deleted secret: %+v", e)
	}
}

// TestRNSDKLoginWithAccessToken: the SDK's loginWithAccessToken with a
// token the customer's backend signed (mint.Signer, key registered through
// the CLI) reaches established as that user, signed-in.
func TestRNSDKLoginWithAccessToken(t *testing.T) {
	s := startServer(t)
	appID, apiKey := newSDKApp(t, s)
	secret := "5e1c9a7f30b2d84e6a1f9c3b07d5e28a4c6f1b9e3d70a25c8f4e1b6d9a03c7e2"
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	keyID := s.cliJSON("app", "access-token-key", "add", appID, "--alg", "HS256", "--secret-file", secretFile)["keyId"].(string)
	signer := &mint.Signer{NetworkID: appID, Alg: "HS256", Key: []byte(secret), KeyID: keyID}
	tok, _, err := signer.Sign("dana")
	if err != nil {
		t.Fatal(err)
	}
	r := runRN(t, s, apiKey, "", map[string]any{"do": "accessToken", "token": tok}, step("secureLogout"))
	if l := r.steps[0]; !l.OK || l.State != "established" || l.User == nil || l.User.UserID != "dana" {
		t.Fatalf("loginWithAccessToken: %+v (states %v)", l, r.states)
	}
	if lo := r.steps[1]; !lo.OK || lo.State != "notLoggedIn" {
		t.Fatalf("secureLogout: %+v", lo)
	}
	st, body := s.call("GET", "/api/v3/sessions", "", "Authorization", "Bearer "+tok)
	wantErrorBody(t, st, body, 401, 400100)
}
