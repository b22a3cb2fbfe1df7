package realtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// TestVisitorTokenRefused: visitor and bot tokens never open /mqtt (the
// SDKs do not connect them); the refusal is CONNACK 2, after which mqtt.js
// does not retry, since such a token will never be accepted.
func TestVisitorTokenRefused(t *testing.T) {
	e := newEnv(t)
	vis, bots := gatehouse.VisitorsOn, true
	if _, err := e.svc.UpdateApp(context.Background(), e.appID, session.AppUpdate{Visitors: &vis, Bots: &bots}); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []gatehouse.UserType{gatehouse.Visitor, gatehouse.Bot} {
		r, err := e.svc.VisitorLogin(context.Background(), secretOf(e.key), typ, &session.VisitorLoginInput{DeviceID: "d-" + string(typ)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.connect(r.User.ID, r.AccessToken.Reveal()); err == nil || !strings.Contains(err.Error(), "identifier rejected") {
			t.Fatalf("%s token on /mqtt: %v, want identifier rejected (2)", typ, err)
		}
	}
	// A signed-in user on the same server still connects.
	e.mustConnect(e.login("alice", "d1"))
}
