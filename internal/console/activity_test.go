package console

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// Counts land in their minute, a slot reused a day later starts from zero,
// and buckets sum the minutes they cover.
func TestActivitySeries(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 5, 1, 10, 0, 30, 0, time.UTC))
	a := NewActivity(clock.Now)
	a.Login(true)
	a.Login(true)
	a.Login(false)
	clock.Advance(time.Minute)
	a.Login(true)
	a.Refused("api_key")
	if got := fmt.Sprint(a.logins.last(clock.Now(), 3)); got != "[0 2 1]" {
		t.Fatalf("logins of the last 3 minutes = %s", got)
	}
	if got := fmt.Sprint(a.refused.last(clock.Now(), 2), a.limited.last(clock.Now(), 1)); got != "[1 0] [1]" {
		t.Fatalf("refused, limited = %s", got)
	}
	// A day later the same slots hold nothing old.
	clock.Advance(24 * time.Hour)
	if got := fmt.Sprint(a.logins.last(clock.Now(), 3)); got != "[0 0 0]" {
		t.Fatalf("a day later = %s", got)
	}
	a.Login(true)
	if got := fmt.Sprint(a.logins.last(clock.Now(), 1)); got != "[1]" {
		t.Fatalf("reused slot = %s", got)
	}
	if got := fmt.Sprint(sum([]int64{1, 2, 3, 4, 5, 6}, 3)); got != "[6 15]" {
		t.Fatalf("sum = %s", got)
	}
}
