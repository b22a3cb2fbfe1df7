package gatehouse_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// Names an operator types are stored by every backend; a control character
// (NUL, which PostgreSQL cannot store, among them) is refused as bad input.
func TestAppAndKeyNamesRefuseControlCharacters(t *testing.T) {
	ok := gatehouse.App{Name: "My app", AccessTTL: gatehouse.DefaultAccessTTL, AuthTokenTTL: gatehouse.DefaultAuthTokenTTL}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(a *gatehouse.App){
		func(a *gatehouse.App) { a.Name = "a\x00b" },
		func(a *gatehouse.App) { a.TokenIssuer = "iss\n" },
		func(a *gatehouse.App) { a.TokenAudience = "\u202eaud" },
	} {
		a := ok
		bad(&a)
		if err := a.Validate(); gatehouse.ErrorCode(err) != gatehouse.Invalid {
			t.Errorf("Validate(%+v) = %v, want Invalid", a, err)
		}
	}
	if err := gatehouse.ValidateKeyName("ios app"); err != nil {
		t.Fatal(err)
	}
	if err := gatehouse.ValidateKeyName("a\x00"); gatehouse.ErrorCode(err) != gatehouse.Invalid {
		t.Fatalf("ValidateKeyName with NUL = %v, want Invalid", err)
	}
}
