package session_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/token"
)

// TestVisitorSettingsAndSecretsBetweenNodes: visitor settings and visitor
// secrets changed on one node reach another through the event log alone:
// a secure visitor login signed with a secret created on A works on B, and
// stops working on B once A rotated that secret out.
func TestVisitorSettingsAndSecretsBetweenNodes(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	sealKey := []byte("0123456789abcdef0123456789abcdef")
	a := newNode(t, db, session.Config{SealKey: sealKey})
	b := newNode(t, db, session.Config{SealKey: sealKey})
	app, key, err := a.svc.CreateApp(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	secure := gatehouse.VisitorsSecure
	if _, err := a.svc.UpdateApp(ctx, app.ID, session.AppUpdate{Visitors: &secure}); err != nil {
		t.Fatal(err)
	}
	_, first, err := a.svc.CreateVisitorSecret(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, b)
	exp := token.FormatVisitorExpiry(time.Now().Add(10 * time.Minute))
	req := func(secret gatehouse.Secret) *session.VisitorLoginInput {
		return &session.VisitorLoginInput{DeviceID: "d1", AuthSignatureExpiresAt: exp,
			AuthSignature: token.VisitorSignature([]byte(secret.Reveal()), "d1", exp)}
	}
	r, err := b.svc.VisitorLogin(ctx, key, gatehouse.Visitor, req(first), nil)
	if err != nil || r.User.Type != gatehouse.Visitor {
		t.Fatalf("secure visitor login on the other node: %+v, %v", r.User, err)
	}
	// Two more secrets on A: the first is dropped, on B too.
	a.svc.CreateVisitorSecret(ctx, app.ID)
	_, third, err := a.svc.CreateVisitorSecret(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, b)
	if _, err := b.svc.VisitorLogin(ctx, key, gatehouse.Visitor, req(first), nil); gatehouse.ErrorCode(err) != gatehouse.Unauthenticated {
		t.Fatalf("rotated-out secret on the other node: %v", err)
	}
	if _, err := b.svc.VisitorLogin(ctx, key, gatehouse.Visitor, req(third), nil); err != nil {
		t.Fatalf("newest secret on the other node: %v", err)
	}
	// Visitors turned off on B: A refuses them once it has applied the log.
	off := gatehouse.VisitorsOff
	if _, err := b.svc.UpdateApp(ctx, app.ID, session.AppUpdate{Visitors: &off}); err != nil {
		t.Fatal(err)
	}
	catchUp(t, a)
	if _, err := a.svc.VisitorLogin(ctx, key, gatehouse.Visitor, req(third), nil); gatehouse.ErrorCode(err) != gatehouse.Forbidden {
		t.Fatalf("visitors off on the other node: %v", err)
	}
	// The visitor's token says what it is, on every node.
	p, err := a.svc.Authenticate(ctx, r.AccessToken.Reveal())
	if err != nil || p.UserType != gatehouse.Visitor {
		t.Fatalf("visitor token on the other node: %+v, %v", p, err)
	}
	if _, err := a.svc.AuthenticateRealtime(ctx, r.AccessToken.Reveal()); !session.Ended(err) {
		t.Fatalf("visitor token for realtime: %v, want refused for good", err)
	}
}
