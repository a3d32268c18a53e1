package mfa

import (
	"strings"
	"testing"
)

// What a user types into the code field and the phone field reaches these
// parsers unfiltered.

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123 456", "abcde-fghjk", "O1L1I", "", "é", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeCode(s)
		if len(n) > 64 {
			t.Fatalf("%q normalized to %d bytes", s, len(n))
		}
		if normalizeCode(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, normalizeCode(n))
		}
		if strings.ContainsAny(n, " -\tABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("%q normalized to %q", s, n)
		}
		if isRecoveryForm(n) && len(hashRecovery(n)) != 32 {
			t.Fatal("recovery hash length")
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+1 (555) 555-0100", "5555550100", "+", "++1", "+1\u00a0555"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := normalizePhone(s)
		if ok != e164.MatchString(p) {
			t.Fatalf("%q: ok %v for %q", s, ok, p)
		}
		if ok && len(maskPhone(p)) == 0 {
			t.Fatal("empty mask")
		}
	})
}
