package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func mustAdmin(t *testing.T, s store.Store, id, name string, role gatehouse.Role) gatehouse.Admin {
	t.Helper()
	a := gatehouse.Admin{ID: id, Name: name, Role: role, PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateAdmin(t.Context(), a); err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	return a
}

// testAdmins: CreateAdmin refuses a taken id or name; GetAdmin and
// GetAdminByID return it or ErrNotFound; ListAdmins is oldest first;
// UpdateAdmin keeps id and name, writes nothing when update fails.
func testAdmins(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustAdmin(t, s, "adm1", "alice", gatehouse.RoleOwner)
	b := gatehouse.Admin{ID: "adm2", Name: "bob", Role: gatehouse.RoleViewer, CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Second)}
	if err := s.CreateAdmin(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdmin(ctx, gatehouse.Admin{ID: "adm3", Name: "alice", Role: gatehouse.RoleAdmin}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAdmin with a taken name: %v, want ErrConflict", err)
	}
	if err := s.CreateAdmin(ctx, gatehouse.Admin{ID: "adm1", Name: "carol", Role: gatehouse.RoleAdmin}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAdmin with a taken id: %v, want ErrConflict", err)
	}
	if got, err := s.GetAdmin(ctx, "alice"); err != nil || got != a {
		t.Fatalf("GetAdmin = %+v, %v; want %+v", got, err, a)
	}
	if got, err := s.GetAdminByID(ctx, "adm2"); err != nil || got != b {
		t.Fatalf("GetAdminByID = %+v, %v; want %+v", got, err, b)
	}
	if _, err := s.GetAdmin(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAdmin unknown: %v", err)
	}
	if _, err := s.GetAdminByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAdminByID unknown: %v", err)
	}
	list, err := s.ListAdmins(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Fatalf("ListAdmins = %+v, %v", list, err)
	}
	up, err := s.UpdateAdmin(ctx, "adm2", func(x *gatehouse.Admin) error {
		x.Role, x.Name, x.ID, x.UpdatedAt, x.DisabledAt = gatehouse.RoleAdmin, "renamed", "other", t0.Add(time.Hour), t0.Add(time.Hour)
		return nil
	})
	if err != nil || up.Role != gatehouse.RoleAdmin || up.Name != "bob" || up.ID != "adm2" || !up.DisabledAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("UpdateAdmin = %+v, %v", up, err)
	}
	if got, _ := s.GetAdmin(ctx, "bob"); got != up {
		t.Fatalf("after UpdateAdmin, GetAdmin = %+v, want %+v", got, up)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateAdmin(ctx, "adm2", func(x *gatehouse.Admin) error { x.Role = gatehouse.RoleOwner; return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateAdmin failing: %v", err)
	}
	if got, _ := s.GetAdmin(ctx, "bob"); got.Role != gatehouse.RoleAdmin {
		t.Fatalf("a failed update was written: %+v", got)
	}
	if _, err := s.UpdateAdmin(ctx, "nope", func(*gatehouse.Admin) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateAdmin unknown: %v", err)
	}
}

// testAdminTokens: CreateAdminToken needs an existing administrator and a
// free id; ListAdminTokens is oldest first with revoked ones; revoking
// keeps the first time and needs the right administrator; TouchAdminToken
// records use.
func testAdminTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustAdmin(t, s, "adm1", "alice", gatehouse.RoleAdmin)
	mustAdmin(t, s, "adm2", "bob", gatehouse.RoleAdmin)
	tok := gatehouse.AdminToken{ID: "tok1", AdminID: "adm1", Name: "ci", Hash: []byte{1, 2, 3}, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	if err := s.CreateAdminToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdminToken(ctx, tok); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAdminToken twice: %v", err)
	}
	if err := s.CreateAdminToken(ctx, gatehouse.AdminToken{ID: "tok9", AdminID: "ghost", Hash: []byte{1}, CreatedAt: t0, ExpiresAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateAdminToken for a missing administrator: %v", err)
	}
	tok2 := gatehouse.AdminToken{ID: "tok2", AdminID: "adm1", Name: "laptop", Hash: []byte{4}, CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(48 * time.Hour)}
	if err := s.CreateAdminToken(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAdminToken(ctx, "tok1")
	if err != nil || got.AdminID != "adm1" || got.Name != "ci" || !bytes.Equal(got.Hash, tok.Hash) || !got.ExpiresAt.Equal(tok.ExpiresAt) || !got.RevokedAt.IsZero() {
		t.Fatalf("GetAdminToken = %+v, %v", got, err)
	}
	if _, err := s.GetAdminToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAdminToken unknown: %v", err)
	}
	if _, err := s.RevokeAdminToken(ctx, "adm2", "tok1", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeAdminToken by another administrator: %v", err)
	}
	r, err := s.RevokeAdminToken(ctx, "adm1", "tok1", t0.Add(time.Hour))
	if err != nil || !r.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("RevokeAdminToken = %+v, %v", r, err)
	}
	r, err = s.RevokeAdminToken(ctx, "adm1", "tok1", t0.Add(2*time.Hour))
	if err != nil || !r.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("RevokeAdminToken again moved the time: %+v, %v", r, err)
	}
	if err := s.TouchAdminToken(ctx, "tok2", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAdminToken(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchAdminToken unknown: %v", err)
	}
	list, err := s.ListAdminTokens(ctx, "adm1")
	if err != nil || len(list) != 2 || list[0].ID != "tok1" || list[1].ID != "tok2" || list[0].RevokedAt.IsZero() || !list[1].LastUsed.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("ListAdminTokens = %+v, %v", list, err)
	}
	if list, _ := s.ListAdminTokens(ctx, "adm2"); len(list) != 0 {
		t.Fatalf("another administrator's tokens listed: %+v", list)
	}
}

// testConsoleSessions: create (needs the administrator), get, touch,
// delete one, delete an administrator's, purge by absolute and idle end.
func testConsoleSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustAdmin(t, s, "adm1", "alice", gatehouse.RoleAdmin)
	mustAdmin(t, s, "adm2", "bob", gatehouse.RoleAdmin)
	mk := func(id, admin string, seen, exp time.Time) gatehouse.ConsoleSession {
		c := gatehouse.ConsoleSession{ID: id, AdminID: admin, CSRF: "csrf-" + id, Addr: "192.0.2.1", CreatedAt: t0, LastSeen: seen, ExpiresAt: exp}
		if err := s.CreateConsoleSession(ctx, c); err != nil {
			t.Fatalf("CreateConsoleSession %s: %v", id, err)
		}
		return c
	}
	a := mk("s1", "adm1", t0, t0.Add(12*time.Hour))
	mk("s2", "adm1", t0, t0.Add(12*time.Hour))
	mk("s3", "adm2", t0, t0.Add(time.Hour))
	mk("s4", "adm2", t0.Add(-time.Hour), t0.Add(12*time.Hour))
	if err := s.CreateConsoleSession(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateConsoleSession twice: %v", err)
	}
	if err := s.CreateConsoleSession(ctx, gatehouse.ConsoleSession{ID: "s9", AdminID: "ghost", CreatedAt: t0, LastSeen: t0, ExpiresAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateConsoleSession for a missing administrator: %v", err)
	}
	if got, err := s.GetConsoleSession(ctx, "s1"); err != nil || got != a {
		t.Fatalf("GetConsoleSession = %+v, %v; want %+v", got, err, a)
	}
	if err := s.TouchConsoleSession(ctx, "s1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetConsoleSession(ctx, "s1"); !got.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("TouchConsoleSession not stored: %+v", got)
	}
	if err := s.TouchConsoleSession(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchConsoleSession unknown: %v", err)
	}
	if err := s.DeleteConsoleSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConsoleSession(ctx, "s1"); err != nil {
		t.Fatalf("DeleteConsoleSession of a missing session: %v", err)
	}
	if _, err := s.GetConsoleSession(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session still there: %v", err)
	}
	// s3 ended (absolute) before t0+2h; s4 idle since before t0-30m.
	if n, err := s.PurgeConsoleSessions(ctx, t0.Add(2*time.Hour), t0.Add(-30*time.Minute)); err != nil || n != 2 {
		t.Fatalf("PurgeConsoleSessions = %d, %v; want 2", n, err)
	}
	if n, err := s.DeleteAdminConsoleSessions(ctx, "adm1"); err != nil || n != 1 {
		t.Fatalf("DeleteAdminConsoleSessions = %d, %v; want 1", n, err)
	}
	if _, err := s.GetConsoleSession(ctx, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of adm1 survived: %v", err)
	}
}

// testAudit: IDs increase; ListAudit is newest first and filters by actor,
// action (exact and prefix), app, time and ID, with a limit.
func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	var last int64
	add := func(i int, actor, action, app string) {
		e, err := s.AppendAudit(ctx, gatehouse.AuditEntry{At: t0.Add(time.Duration(i) * time.Minute), ActorKind: gatehouse.ActorAdmin, Actor: actor, Via: "console",
			Action: action, AppID: app, Target: fmt.Sprint("u", i), Addr: "192.0.2.7", Result: "ok", Detail: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if e.ID <= last {
			t.Fatalf("audit id %d not above %d", e.ID, last)
		}
		last = e.ID
	}
	add(0, "alice", "user.ban", "app1")
	add(1, "bob", "user.unban", "app1")
	add(2, "alice", "app.update", "app2")
	add(3, "root", "user.ban", "app2")
	add(4, "alice", "user.delete", "app1")
	ids := func(f gatehouse.AuditFilter) []string {
		list, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.Target)
		}
		return out
	}
	check := func(name string, f gatehouse.AuditFilter, want string) {
		t.Helper()
		if got := fmt.Sprint(ids(f)); got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
	check("all", gatehouse.AuditFilter{}, "[u4 u3 u2 u1 u0]")
	check("actor", gatehouse.AuditFilter{Actor: "alice"}, "[u4 u2 u0]")
	check("action exact", gatehouse.AuditFilter{Action: "user.ban"}, "[u3 u0]")
	check("action prefix", gatehouse.AuditFilter{Action: "user."}, "[u4 u3 u1 u0]")
	check("action partial word is not a prefix", gatehouse.AuditFilter{Action: "user"}, "[]")
	check("app", gatehouse.AuditFilter{AppID: "app2"}, "[u3 u2]")
	check("since inclusive, until exclusive", gatehouse.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, "[u2 u1]")
	check("limit", gatehouse.AuditFilter{Limit: 2}, "[u4 u3]")
	check("combined", gatehouse.AuditFilter{Actor: "alice", AppID: "app1", Action: "user."}, "[u4 u0]")
	list, _ := s.ListAudit(ctx, gatehouse.AuditFilter{Limit: 2})
	check("before", gatehouse.AuditFilter{Before: list[1].ID}, "[u2 u1 u0]")
	e := list[0]
	if e.ActorKind != gatehouse.ActorAdmin || e.Actor != "alice" || e.Via != "console" || e.Addr != "192.0.2.7" || e.Result != "ok" || e.Detail != "d" || e.AppID != "app1" || !e.At.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("entry round trip: %+v", e)
	}
}

// testSearchUsers: matches public id or display name, case-insensitively,
// with % and _ taken literally; newest first; paged; total counts all
// matches; other apps' users never match.
func testSearchUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	mustApp(t, s, "app2")
	mk := func(app, id, user, name string, i int) {
		at := t0.Add(time.Duration(i) * time.Minute)
		if _, err := s.GetOrCreateUser(ctx, gatehouse.User{ID: id, AppID: app, UserID: user, DisplayName: name, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	mk("app1", "i1", "alice", "Alice Liddell", 1)
	mk("app1", "i2", "bob", "Bobby ALIce", 2)
	mk("app1", "i3", "carol_100%", "Carol", 3)
	mk("app1", "i4", "dave", "Dave", 4)
	mk("app2", "i5", "alice", "Alice elsewhere", 5)
	search := func(q string, off, lim int) (string, int) {
		t.Helper()
		list, total, err := s.SearchUsers(ctx, "app1", q, off, lim)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range list {
			if u.AppID != "app1" {
				t.Fatalf("user of another app: %+v", u)
			}
			ids = append(ids, u.UserID)
		}
		return fmt.Sprint(ids), total
	}
	for _, c := range []struct {
		q        string
		off, lim int
		want     string
		total    int
	}{
		{"", 0, 10, "[dave carol_100% bob alice]", 4},
		{"ALICE", 0, 10, "[bob alice]", 2},
		{"alice", 1, 10, "[alice]", 2},
		{"", 1, 2, "[carol_100% bob]", 4},
		{"%", 0, 10, "[carol_100%]", 1},
		{"_", 0, 10, "[carol_100%]", 1},
		{"zzz", 0, 10, "[]", 0},
	} {
		got, total := search(c.q, c.off, c.lim)
		if got != c.want || total != c.total {
			t.Errorf("SearchUsers(%q, %d, %d) = %s (total %d), want %s (total %d)", c.q, c.off, c.lim, got, total, c.want, c.total)
		}
	}
}

// testCountLiveSessions: counts sessions neither revoked nor expired, per
// app or over all apps.
func testCountLiveSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustApp(t, s, "app1")
	mustApp(t, s, "app2")
	for i, c := range []struct {
		app string
		ttl time.Duration
	}{{"app1", time.Hour}, {"app1", time.Hour}, {"app1", time.Minute}, {"app2", time.Hour}} {
		if _, err := login(s, c.app, fmt.Sprint("u", i), fmt.Sprint("d", i), fmt.Sprint("s", i), t0, c.ttl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RevokeSession(ctx, "app1", "s1", t0); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(10 * time.Minute)
	for _, c := range []struct {
		app  string
		want int
	}{{"app1", 1}, {"app2", 1}, {"", 2}} {
		if n, err := s.CountLiveSessions(ctx, c.app, now); err != nil || n != c.want {
			t.Errorf("CountLiveSessions(%q) = %d, %v; want %d", c.app, n, err, c.want)
		}
	}
}

// testAppOrigins: an app's allowed origins are stored by CreateApp and
// UpdateApp and read back.
func testAppOrigins(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := gatehouse.App{ID: "app1", Name: "a", AccessTTL: gatehouse.DefaultAccessTTL, AuthTokenTTL: gatehouse.DefaultAuthTokenTTL,
		Origins: "https://a.example", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetApp(ctx, "app1"); err != nil || got.Origins != "https://a.example" {
		t.Fatalf("GetApp = %+v, %v", got, err)
	}
	if _, err := s.UpdateApp(ctx, "app1", func(x *gatehouse.App) error { x.Origins = "https://b.example http://localhost:3000"; return nil }); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListApps(ctx); err != nil || len(list) != 1 || list[0].Origins != "https://b.example http://localhost:3000" {
		t.Fatalf("ListApps = %+v, %v", list, err)
	}
}
