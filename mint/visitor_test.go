package mint_test

import (
	"bytes"
	"encoding/json"
	"net/http"
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
