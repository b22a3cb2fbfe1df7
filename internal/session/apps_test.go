package session_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// Admins editing different settings of one app at once both keep their
// change: the service reads, changes and writes the app in one store
// transaction.
func TestConcurrentAppEditsBothSurvive(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	app, _, err := svc.CreateApp(ctx, "edited")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var u session.AppUpdate
			if i%2 == 0 {
				name := fmt.Sprintf("name-%d", i)
				u.Name = &name
			} else {
				ttl := time.Duration(i) * time.Hour
				u.AccessTTL = &ttl
				iss := fmt.Sprintf("iss-%d", i)
				u.TokenIssuer = &iss
			}
			if _, err := svc.UpdateApp(ctx, app.ID, u); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := svc.App(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Whichever edit of each kind came last, both kinds are there: the
	// last name and, consistently, the TTL and issuer of one odd edit.
	if !strings.HasPrefix(got.Name, "name-") || got.TokenIssuer != fmt.Sprintf("iss-%d", int(got.AccessTTL/time.Hour)) {
		t.Fatalf("after concurrent edits: name %q, access TTL %s, issuer %q", got.Name, got.AccessTTL, got.TokenIssuer)
	}
}
