package session_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// The login caches keep no device info (issue 8 item 3: with a 65 KB
// deviceInfo per login, 3,000 logins added 500 MB): 2,000 logins on new
// devices with 4 KiB of device info each must grow the live heap by far
// less than the device infos' 8 MB.
func TestDeviceInfoNotCached(t *testing.T) {
	svc := newService(t)
	ctx := t.Context()
	_, key, err := svc.CreateApp(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	login := func(i int) {
		model := fmt.Sprintf("%04d", i) + strings.Repeat("m", 4000)
		if _, err := svc.Login(ctx, key, &session.LoginInput{UserID: fmt.Sprint("u", i), DeviceID: fmt.Sprint("d", i),
			DeviceInfo: gatehouse.DeviceInfo{Kind: "web", Model: model}}); err != nil {
			t.Fatal(err)
		}
	}
	login(-1)
	before := heapAfterGC()
	const n = 2000
	for i := range n {
		login(i)
	}
	per := (int64(heapAfterGC()) - int64(before)) / n
	runtime.KeepAlive(svc) // the caches are what is measured
	t.Logf("%d bytes of live heap per login", per)
	if per > 2000 {
		t.Fatalf("%d bytes of live heap per login with 4 KiB device infos: the device info is kept", per)
	}
}
