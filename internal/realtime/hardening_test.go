package realtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/mint"
)

// customerToken registers an HS256 key and signs a token for userID; it
// returns the token and the user's internal id (the MQTT username).
func (e *env) customerToken(userID string) (tok, internal string) {
	e.t.Helper()
	secret := []byte("6b1f9e3a07c5d28f4e1a9c6b30d7f25e8a4c1f9b6e03d7a2c5f8e1b4a9d60c37")
	k, err := e.svc.AddVerificationKey(context.Background(), e.appID, session.VerificationKeyInput{Alg: "HS256", Secret: secret})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err = (&mint.Signer{NetworkID: e.appID, Alg: "HS256", Key: secret, KeyID: k.ID}).Sign(userID)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.svc.Authenticate(context.Background(), tok)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok, p.UserInternalID
}

// swapLast swaps the last character of a token's signature for one that
// decodes to the same bytes (an HS256 signature is 43 characters: the last
// carries 4 bits and 2 unused ones).
func swapLast(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[v^1])
}

// TestReencodedTokenRefusedOnMQTT is fault 1 on /mqtt: a logged-out
// customer token with its last character swapped got CONNACK 0, and CR or
// LF inside the password were ignored by the base64 decoder.
func TestReencodedTokenRefusedOnMQTT(t *testing.T) {
	e := newEnv(t)
	tok, internal := e.customerToken("mallory")
	// Live token, other texts of it: refused as malformed (CONNACK 5).
	for name, v := range map[string]string{
		"LF":      tok[:10] + "\n" + tok[10:],
		"CR":      tok[:len(tok)-5] + "\r" + tok[len(tok)-5:],
		"CRLF":    tok + "\r\n",
		"swapped": swapLast(tok),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.connect(internal, v)
			if err == nil {
				c.Disconnect(0)
				t.Fatal("connection accepted")
			}
			if !strings.Contains(err.Error(), "not Authorized") {
				t.Fatalf("refusal %v, want not authorized (5)", err)
			}
		})
	}
	c, err := e.connect(internal, tok)
	if err != nil {
		t.Fatalf("the token itself: %v", err)
	}
	c.Disconnect(0)
	if err := e.svc.Logout(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{tok, swapLast(tok), tok + "\n"} {
		if c, err := e.connect(internal, v); err == nil {
			c.Disconnect(0)
			t.Fatalf("logged-out token %q accepted", v[len(v)-4:])
		}
	}
}
