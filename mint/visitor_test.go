package mint_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
	"github.com/gatehouse-auth/gatehouse/mint"
)

// TestVisitorSignatureAcceptedByGatehouse: a signature from the helper lets
// the device in on an app in secure visitor mode, and only that device.
func TestVisitorSignatureAcceptedByGatehouse(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	secure := gatehouse.VisitorsSecure
	if _, err := s.Svc.UpdateApp(t.Context(), s.App.ID, session.AppUpdate{Visitors: &secure}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.Svc.CreateVisitorSecret(t.Context(), s.App.ID)
	if err != nil {
		t.Fatal(err)
	}
	sig, exp, err := mint.VisitorSignature(secret.Reveal(), "device-1", s.Clock.Now().Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	post := func(device string) int {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"deviceId": device, "authSignature": sig, "authSignatureExpiresAt": exp})
		req, _ := http.NewRequest("POST", s.URL+"/api/v5/sessions/visitor", bytes.NewReader(b))
		req.Header.Set("X-API-Key", s.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("device-1"); st != 200 {
		t.Fatalf("signed device: %d", st)
	}
	if st := post("device-2"); st != 401 {
		t.Fatalf("another device with that signature: %d, want 401", st)
	}
	if len(sig) != 64 || strings.ToLower(sig) != sig {
		t.Fatalf("signature %q is not 64 lowercase hex digits", sig)
	}
	if _, _, err := mint.VisitorSignature("", "device-1", time.Now()); err == nil {
		t.Fatal("empty secret accepted")
	}
	if _, _, err := mint.VisitorSignature(secret.Reveal(), "", time.Now()); err == nil {
		t.Fatal("empty device id accepted")
	}
}

// TestVisitorSignatureHandler: the ready endpoint signs the device the app
// names, refuses bad ids and devices the backend turns away, and what it
// answers logs the device in.
func TestVisitorSignatureHandler(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	secure := gatehouse.VisitorsSecure
	if _, err := s.Svc.UpdateApp(t.Context(), s.App.ID, session.AppUpdate{Visitors: &secure}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.Svc.CreateVisitorSecret(t.Context(), s.App.ID)
	if err != nil {
		t.Fatal(err)
	}
	signer := &mint.VisitorSigner{Secret: secret.Reveal(), Now: s.Clock.Now}
	h := mint.VisitorSignatureHandler(signer, func(r *http.Request, deviceID string) bool { return deviceID != "banned-device" })
	get := func(method, target, body string) (int, map[string]string) {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(body)))
		var out map[string]string
		json.Unmarshal(w.Body.Bytes(), &out)
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("answer may be cached")
		}
		return w.Code, out
	}
	if st, _ := get("GET", "/visitor?deviceId=", ""); st != 400 {
		t.Fatalf("no device id: %d", st)
	}
	if st, _ := get("GET", "/visitor?deviceId=banned-device", ""); st != 403 {
		t.Fatalf("refused device: %d", st)
	}
	if st, _ := get("DELETE", "/visitor?deviceId=d", ""); st != 405 {
		t.Fatalf("DELETE: %d", st)
	}
	st, out := get("POST", "/visitor", `{"deviceId":"phone-9"}`)
	if st != 200 || out["deviceId"] != "phone-9" || len(out["authSignature"]) != 64 {
		t.Fatalf("signed: %d %v", st, out)
	}
	b, _ := json.Marshal(map[string]string{"deviceId": "phone-9", "authSignature": out["authSignature"], "authSignatureExpiresAt": out["authSignatureExpiresAt"]})
	req, _ := http.NewRequest("POST", s.URL+"/api/v5/sessions/visitor", bytes.NewReader(b))
	req.Header.Set("X-API-Key", s.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login with the handler's signature: %d", resp.StatusCode)
	}
	if _, _, err := (&mint.VisitorSigner{Secret: "x", TTL: 25 * time.Hour}).Sign("d"); err == nil {
		t.Fatal("a signature valid for 25 h was made")
	}
}
