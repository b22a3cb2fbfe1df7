package token

import (
	"testing"
	"time"
)

func benchRing(b *testing.B) (*Ring, *AccessClaims) {
	k, err := NewSigningKey(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRing([]SigningKey{k})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	c := &AccessClaims{User: UserClaim{UserInternalID: "6620f1d0a9b3d4e5f6a7b8ca", PublicUserID: "alice-42", NetworkID: "6620f1c2a9b3d4e5f6a7b8c9"},
		Issuer: "gatehouse", Subject: "6620f1d0a9b3d4e5f6a7b8ca", Audience: "6620f1c2a9b3d4e5f6a7b8c9", SessionID: "s", ID: "j", IssuedAt: now, ExpiresAt: now + 3600}
	return r, c
}

func BenchmarkSign(b *testing.B) {
	r, c := benchRing(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUncached is the cost of a token seen for the first time.
func BenchmarkVerifyUncached(b *testing.B) {
	r, c := benchRing(b)
	tok, _ := r.Sign(c)
	want := Expectations{Issuer: "gatehouse", Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Verify(tok, want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is the cost of a token seen before.
func BenchmarkVerifyCached(b *testing.B) {
	r, c := benchRing(b)
	tok, _ := r.Sign(c)
	v := Verifier{Ring: func() *Ring { return r }, Cache: NewCache(1000)}
	want := Expectations{Issuer: "gatehouse", Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok, want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCanonicalCompact is the canonical-form check a token pays on a
// cache miss (a seen token is found by its text and skips it).
func BenchmarkCanonicalCompact(b *testing.B) {
	r, c := benchRing(b)
	tok, _ := r.Sign(c)
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if !CanonicalCompact(tok) {
			b.Fatal("refused")
		}
	}
}
