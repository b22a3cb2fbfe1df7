package gatehouse_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// TestTransitions checks every (from, to) pair of the client session state
// machine against the table of the wire spec §14.
func TestTransitions(t *testing.T) {
	allowed := map[[2]gatehouse.SessionState]bool{
		{gatehouse.NotLoggedIn, gatehouse.Establishing}:  true,
		{gatehouse.Terminated, gatehouse.Establishing}:   true,
		{gatehouse.Establishing, gatehouse.NotLoggedIn}:  true,
		{gatehouse.Establishing, gatehouse.Established}:  true,
		{gatehouse.Established, gatehouse.NotLoggedIn}:   true,
		{gatehouse.Established, gatehouse.Terminated}:    true,
		{gatehouse.Established, gatehouse.TokenExpired}:  true,
		{gatehouse.Established, gatehouse.Establishing}:  true,
		{gatehouse.TokenExpired, gatehouse.Establishing}: true,
	}
	for _, from := range gatehouse.States() {
		for _, to := range gatehouse.States() {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				want := allowed[[2]gatehouse.SessionState{from, to}]
				got, err := gatehouse.Transition(from, to)
				if want && (err != nil || got != to) {
					t.Fatalf("allowed transition refused: %v", err)
				}
				if !want && (err == nil || got != from) {
					t.Fatalf("forbidden transition happened (got %s, err %v)", got, err)
				}
			})
		}
	}
}

func TestCodes(t *testing.T) {
	for _, c := range []gatehouse.Code{gatehouse.Invalid, gatehouse.Unauthenticated, gatehouse.Forbidden,
		gatehouse.PermissionDenied, gatehouse.Banned, gatehouse.NotFound, gatehouse.Conflict, gatehouse.RateLimited} {
		if got := gatehouse.CodeFromWire(c.Wire()); got != c {
			t.Errorf("%s -> %d -> %s", c, c.Wire(), got)
		}
	}
	if gatehouse.Unauthenticated.Wire() != 400100 || gatehouse.Banned.Wire() != 400312 || gatehouse.Internal.Wire() != 500000 {
		t.Error("numeric codes drifted from the social.plus values")
	}
	if gatehouse.ErrorCode(errPlain{}) != gatehouse.Internal {
		t.Error("unknown errors must map to internal")
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "plain" }

func TestValidateUserID(t *testing.T) {
	for _, ok := range []string{"a", "alice-42", "Ålice ✓", "a/b c", "x@y.z", string(make([]rune, 0)) + "日本語"} {
		if err := gatehouse.ValidateUserID(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	long := ""
	for range 51 {
		long += "é"
	}
	for _, bad := range []string{"", "   ", "\t", "a\x00b", "a\nb", "a\u0085b", "abc\u202edef", "\u2066x", long, string([]byte{0xff, 0xfe})} {
		if err := gatehouse.ValidateUserID(bad); gatehouse.ErrorCode(err) != gatehouse.Invalid {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
	if err := gatehouse.ValidateUserID(long[:100]); err != nil {
		t.Errorf("50 two-byte characters refused: the limit counts characters, not bytes: %v", err)
	}
}

func TestSecretRedacts(t *testing.T) {
	s := gatehouse.Secret("hunter2-very-secret")
	for _, got := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if got != "[redacted]" {
			t.Errorf("secret shown as %q", got)
		}
	}
}
