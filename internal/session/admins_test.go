package session_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// Passwords are stored as argon2id with OWASP's minimum parameters; a huge
// password is refused before hashing; the initial password signs in and
// a wrong one gets the same error as an unknown name.
func TestAdminPasswordsAndConsoleSessions(t *testing.T) {
	svc, db, clock := newClocked(t)
	ctx := t.Context()
	root := gatehouse.RootActor(gatehouse.ViaCLI)
	a, pw, err := svc.CreateAdmin(ctx, root, "alice", gatehouse.RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(a.PasswordHash, pw.Reveal()) {
		t.Fatalf("stored hash %q", a.PasswordHash)
	}
	if _, err := session.HashPassword(strings.Repeat("x", 1<<20)); gatehouse.ErrorCode(err) != gatehouse.Invalid {
		t.Fatalf("1 MiB password: %v", err)
	}
	_, _, _, errWrong := svc.SignIn(ctx, "alice", "wrong password!", "192.0.2.1")
	_, _, _, errUnknown := svc.SignIn(ctx, "nobody", pw.Reveal(), "192.0.2.1")
	if gatehouse.ErrorCode(errWrong) != gatehouse.Unauthenticated || errWrong.Error() != errUnknown.Error() {
		t.Fatalf("wrong password %v, unknown name %v: want the same refusal", errWrong, errUnknown)
	}
	cookie, cs, _, err := svc.SignIn(ctx, "alice", pw.Reveal(), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if cs.ID == cookie.Reveal() || len(cookie.Reveal()) != 64 {
		t.Fatal("the store keeps the cookie value itself")
	}
	cookie2, _, _, _ := svc.SignIn(ctx, "alice", pw.Reveal(), "192.0.2.1")
	if cookie2 == cookie {
		t.Fatal("two sign-ins gave the same session id")
	}
	// Idle timeout: a request within it keeps the session.
	clock.Advance(session.ConsoleIdle - time.Minute)
	if _, _, err := svc.ConsoleSession(ctx, cookie.Reveal()); err != nil {
		t.Fatalf("session within the idle time: %v", err)
	}
	clock.Advance(session.ConsoleIdle - time.Minute)
	if _, _, err := svc.ConsoleSession(ctx, cookie.Reveal()); err != nil {
		t.Fatalf("session kept alive: %v", err)
	}
	if _, _, err := svc.ConsoleSession(ctx, cookie2.Reveal()); err == nil {
		t.Fatal("an idle session was accepted")
	}
	if _, err := db.GetConsoleSession(ctx, cs.ID+"x"); err == nil {
		t.Fatal("unexpected session")
	}
	// Absolute timeout, however active.
	for clock.Now().Before(cs.ExpiresAt) {
		if _, _, err := svc.ConsoleSession(ctx, cookie.Reveal()); err != nil {
			t.Fatalf("active session ended early at %v: %v", clock.Now(), err)
		}
		clock.Advance(20 * time.Minute)
	}
	if _, _, err := svc.ConsoleSession(ctx, cookie.Reveal()); err == nil {
		t.Fatal("a session past its absolute end was accepted")
	}
	if _, err := db.GetConsoleSession(ctx, cs.ID); err == nil {
		t.Fatal("an ended session stayed in the store")
	}
	// Sign-out ends the session on the server.
	c3, cs3, _, _ := svc.SignIn(ctx, "alice", pw.Reveal(), "192.0.2.1")
	if err := svc.SignOut(ctx, cs3.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ConsoleSession(ctx, c3.Reveal()); err == nil {
		t.Fatal("a signed-out session was accepted")
	}
}
