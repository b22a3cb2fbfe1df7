package postgres_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
)

// BenchmarkEventWrite measures how many changes that write an event (here
// customer-token revocations, the smallest) one PostgreSQL primary commits
// per second: event writers serialize on the log's id, so this is the
// cluster's ceiling for revocations, bans and setting changes together.
//
//	go test -run - -bench EventWrite -benchtime 3s ./internal/store/postgres
func BenchmarkEventWrite(b *testing.B) {
	db, err := postgres.Open(b.Context(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n atomic.Int64
	exp := time.Now().Add(time.Hour)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.RevokeToken(b.Context(), store.RevokedToken{AppID: "a", Hash: fmt.Sprint(n.Add(1)), ExpiresAt: exp}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventRead measures reading the log as a node catching up does,
// in pages of 500.
func BenchmarkEventRead(b *testing.B) {
	db, err := postgres.Open(b.Context(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	exp := time.Now().Add(time.Hour)
	for i := range 5000 {
		if err := db.RevokeToken(b.Context(), store.RevokedToken{AppID: "a", Hash: fmt.Sprint(i), ExpiresAt: exp}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	events := 0
	for b.Loop() {
		var after int64
		for {
			page, err := db.Events(b.Context(), after, 500)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			events += len(page)
			after = page[len(page)-1].ID
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
