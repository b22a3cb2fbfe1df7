package gatehouse_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPublicPackageDeps keeps the public packages free of server code and
// heavy dependencies, so they can be split into an SDK module cheaply.
func TestPublicPackageDeps(t *testing.T) {
	forbidden := map[string]string{
		"database/sql": "storage belongs to internal/store",
		"/internal/":   "public packages carry no server code",
		"modernc.org":  "the SQLite driver is a server dependency",
		"pgx":          "the PostgreSQL driver is a server dependency",
		"mochi-mqtt":   "the broker is a server dependency",
	}
	// The MQTT client lives only in client/live.
	forbidden["paho"] = "the MQTT client belongs to client/live only"
	onlyStd := map[string]bool{"github.com/gatehouse-auth/gatehouse": true}
	// The SDK may use the root and wire, nothing else outside the standard library.
	sdkAllowed := map[string]bool{"github.com/gatehouse-auth/gatehouse": true, "github.com/gatehouse-auth/gatehouse/wire": true, "github.com/gatehouse-auth/gatehouse/client": true}
	for _, pkg := range []string{"github.com/gatehouse-auth/gatehouse", "github.com/gatehouse-auth/gatehouse/wire", "github.com/gatehouse-auth/gatehouse/token", "github.com/gatehouse-auth/gatehouse/client", "github.com/gatehouse-auth/gatehouse/mint"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for bad, why := range forbidden {
				if strings.Contains(dep, bad) {
					t.Errorf("%s imports %s: %s", pkg, dep, why)
				}
			}
			if onlyStd[pkg] && dep != pkg {
				t.Errorf("%s must import only the standard library, imports %s", pkg, dep)
			}
			if strings.HasSuffix(pkg, "/client") && !sdkAllowed[dep] {
				t.Errorf("the client SDK imports %s: it may use only the standard library, the root and wire", dep)
			}
		}
	}
}

// TestLiveDeps: client/live may add the MQTT client and its WebSocket
// dependencies, never server code.
func TestLiveDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/gatehouse-auth/gatehouse/client/live").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"gatehouse-auth/gatehouse/internal/", "modernc.org", "mochi-mqtt", "database/sql"} {
			if strings.Contains(dep, bad) {
				t.Errorf("client/live imports %s", dep)
			}
		}
	}
}
