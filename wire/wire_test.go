package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/wire"
)

// The server builds user paths and the SDK takes the network id back out
// of them: both go through these two functions.
func TestUserPathRoundTrip(t *testing.T) {
	p := wire.UserPath("net1", "u_abc")
	if p != "net1/user/u_abc" {
		t.Fatalf("UserPath = %q", p)
	}
	if got := wire.NetworkOfPath(p); got != "net1" {
		t.Fatalf("NetworkOfPath(%q) = %q", p, got)
	}
	if got := wire.NetworkOfPath("net1"); got != "net1" {
		t.Fatalf("NetworkOfPath of a bare network id = %q", got)
	}
}

// The event payload is what the social.plus SDKs parse: eventType, and
// data with users and an empty (not null) files list.
func TestUserEventShape(t *testing.T) {
	b, err := json.Marshal(wire.NewUserEvent(wire.EventUserDeleted, wire.User{UserID: "alice"}))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"eventType":"user.deleted"`, `"data":{"users":[{`, `"userId":"alice"`, `"files":[]`} {
		if !strings.Contains(s, want) {
			t.Errorf("event %s lacks %s", s, want)
		}
	}
	var ev wire.Event
	if err := json.Unmarshal(b, &ev); err != nil || ev.EventType != wire.EventUserDeleted || len(ev.Data.Users) != 1 || ev.Data.Users[0].UserID != "alice" {
		t.Fatalf("round trip: %+v %v", ev, err)
	}
	if wire.EventUserBanned != "user.didGlobalBan" {
		t.Fatalf("ban event type %q", wire.EventUserBanned)
	}
}
