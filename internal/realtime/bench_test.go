package realtime_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// BenchmarkBanEvent1000Clients connects 1,000 clients (each a user of its
// own, subscribed to its topics), then bans users one at a time and
// measures from the Ban call to the banned client receiving
// user.didGlobalBan. It reports p50 and p99 (ns); each iteration bans a
// new user, up to 1,000:
//
//	go test -run - -bench BanEvent -benchtime 200x ./internal/realtime
func BenchmarkBanEvent1000Clients(b *testing.B) {
	const n = 1000
	e := newEnv(b)
	users := make([]user, n)
	for i := range users {
		users[i] = e.login(fmt.Sprint("user-", i), fmt.Sprint("device-", i))
	}
	events := make([]chan time.Time, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	clients := make([]paho.Client, n)
	for i := range users {
		events[i] = make(chan time.Time, 1)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := e.connect(users[i].internal, users[i].token)
			if err != nil {
				b.Error(err)
				return
			}
			clients[i] = c
			ch := events[i]
			tok := c.Subscribe(users[i].path, 0, func(paho.Client, paho.Message) {
				select {
				case ch <- time.Now():
				default:
				}
			})
			tok.Wait()
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Disconnect(0)
			}
		}
	}()
	if b.Failed() {
		return
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N && i < n; i++ {
		start := time.Now()
		if _, err := e.svc.Ban(context.Background(), e.appID, users[i].id); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-events[i]:
			lat = append(lat, at.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatalf("user %d got no ban event", i)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(n), "clients")
}
