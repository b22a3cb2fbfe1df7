package gatehouse_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func TestClaimDevice(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	next := gatehouse.Session{ID: "new", AppID: "a", UserInternalID: "u1", DeviceID: "d", DeviceInfo: gatehouse.DeviceInfo{Model: "m2"},
		CreatedAt: now, LastLoginAt: now, ExpiresAt: now.Add(time.Hour)}

	c := gatehouse.ClaimDevice(nil, next, now)
	if c.Extended || c.Replaced != nil || c.Session != next {
		t.Fatalf("empty device: %+v", c)
	}

	// Same user: the current session is extended, never shortened.
	cur := gatehouse.Session{ID: "old", AppID: "a", UserInternalID: "u1", DeviceID: "d", DeviceInfo: gatehouse.DeviceInfo{Model: "m1"},
		CreatedAt: t0, LastLoginAt: t0, ExpiresAt: now.Add(2 * time.Hour)}
	c = gatehouse.ClaimDevice(&cur, next, now)
	if !c.Extended || c.Replaced != nil || c.Session.ID != "old" || !c.Session.ExpiresAt.Equal(cur.ExpiresAt) ||
		!c.Session.LastLoginAt.Equal(now) || c.Session.DeviceInfo.Model != "m2" || !c.Session.CreatedAt.Equal(t0) {
		t.Fatalf("same user, longer current session: %+v", c)
	}
	cur.ExpiresAt = now
	c = gatehouse.ClaimDevice(&cur, next, now)
	if !c.Extended || !c.Session.ExpiresAt.Equal(next.ExpiresAt) {
		t.Fatalf("same user, shorter current session: %+v", c)
	}
	if cur.LastLoginAt != t0 {
		t.Fatal("ClaimDevice changed its input")
	}

	// Another user: the current session is revoked at now, next starts.
	cur.UserInternalID = "u2"
	c = gatehouse.ClaimDevice(&cur, next, now)
	if c.Extended || c.Session != next || c.Replaced == nil || c.Replaced.ID != "old" || !c.Replaced.RevokedAt.Equal(now) {
		t.Fatalf("another user: %+v", c)
	}
}
