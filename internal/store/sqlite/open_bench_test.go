package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// BenchmarkOpenLargeStore measures what start costs on a big database: the
// PRAGMA quick_check of Open and the table scans that load the revocation
// state. The store holds GATEHOUSE_BENCH_SESSIONS sessions (default
// 1,000,000, one user each, a tenth revoked):
//
//	go test -run - -bench OpenLargeStore -benchtime 3x ./internal/store/sqlite
func BenchmarkOpenLargeStore(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_SESSIONS")); err == nil {
		n = v
	}
	path := filepath.Join(b.TempDir(), "gatehouse.db")
	db, err := sqlite.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(24 * time.Hour).UnixMilli()
	for _, q := range []string{
		"INSERT INTO apps (id, name, secure_mode, access_ttl, auth_ttl, created_at, updated_at) VALUES ('app1', 'a', 0, 1000, 1000, 1, 1)",
		`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ` + strconv.Itoa(n) + `)
		 INSERT INTO users (id, app_id, user_id, display_name, created_at, updated_at) SELECT printf('%024x', i), 'app1', 'user-' || i, 'User ' || i, 1, 1 FROM c`,
		`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ` + strconv.Itoa(n) + `)
		 INSERT INTO sessions (id, app_id, user_internal_id, device_id, device_info, created_at, last_login_at, expires_at, revoked_at)
		 SELECT printf('%032x', i), 'app1', printf('%024x', i), 'device-' || i, '{"kind":"web","model":"reactnative#unknown_agent","sdkVersion":"v7.20.0-cjs"}', 1, 1, ` +
			strconv.FormatInt(exp, 10) + `, CASE WHEN i % 10 = 0 THEN 2 ELSE 0 END FROM c`,
		"PRAGMA wal_checkpoint(TRUNCATE)",
	} {
		if _, err := raw.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	raw.Close()
	fi, _ := os.Stat(path)
	b.Logf("%d sessions, database %.0f MiB", n, float64(fi.Size())/(1<<20))
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		db, err := sqlite.Open(b.Context(), path)
		if err != nil {
			b.Fatal(err)
		}
		opened := time.Since(t0)
		list, err := db.ListRevokedSessions(b.Context(), time.Now())
		if err != nil || len(list) != n/10 {
			b.Fatalf("%d revoked sessions, %v", len(list), err)
		}
		b.ReportMetric(float64(opened.Milliseconds()), "open-ms")
		b.ReportMetric(float64((time.Since(t0) - opened).Milliseconds()), "load-revoked-ms")
		db.Close()
	}
}
