package account_test

import (
	"errors"
	"strings"
	"testing"

	"gatehouse/provider/account"
)

// NormalizeEmail reads addresses from admins and forms: it must never
// panic, must accept only what it can return unchanged on a second pass,
// and must not let a display name or a line break through.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.example", " A@B.Example ", "Bob <bob@x.example>", "a@b", "@", "a@localhost", "\"q\"@x.example", "a\r\n@x.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := account.NormalizeEmail(in)
		if err != nil {
			if !errors.Is(err, account.ErrInvalidEmail) {
				t.Fatalf("%q: unexpected error %v", in, err)
			}
			return
		}
		if again, err := account.NormalizeEmail(out); err != nil || again != out {
			t.Fatalf("%q -> %q -> %q, %v", in, out, again, err)
		}
		if strings.ContainsAny(out, "<>\r\n ") || len(out) > 254 || out != strings.ToLower(out) {
			t.Fatalf("%q accepted as %q", in, out)
		}
	})
}
