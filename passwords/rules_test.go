package passwords

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		password string
		email    string
		want     error
	}{
		{"good", "correct horse battery", "alice@example.com", nil},
		{"exactly twelve", "k7#pQ2!xW9mz", "alice@example.com", nil},
		{"eleven", "k7#pQ2!xW9m", "alice@example.com", ErrTooShort},
		{"empty", "", "alice@example.com", ErrTooShort},
		{"twelve runes, more bytes", "ééééééééééé1", "a@example.com", nil},
		{"eleven runes, many bytes", "éééééééééé1", "a@example.com", ErrTooShort},
		{"max bytes", strings.Repeat("xq7", MaxBytes/3) + "z", "a@example.com", nil},
		{"too long", strings.Repeat("x", MaxBytes+1), "a@example.com", ErrTooLong},
		{"common", "password1234", "alice@example.com", ErrCommon},
		{"common, any case", "PassWord1234", "alice@example.com", ErrCommon},
		{"common keyboard walk", "qwertyuiop123", "alice@example.com", ErrCommon},
		{"common year pattern", "Password2024!", "alice@example.com", ErrCommon},
		{"common repeat", "aaaaaaaaaaaa", "alice@example.com", ErrCommon},
		{"contains email name", "my-alice-secret-99", "alice@example.com", ErrContainsEmail},
		{"contains email name, case", "my-ALICE-secret-99", "Alice@Example.com", ErrContainsEmail},
		{"short email name ignored", "al-is-my-secret-99", "al@example.com", nil},
		{"three-letter email name", "bob-is-my-secret-99", "bob@example.com", ErrContainsEmail},
		{"no email", "a long passphrase here", "", nil},
		{"domain is fine", "example-rocks-forever", "alice@example.com", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.password, tc.email)
			if !errors.Is(got, tc.want) {
				t.Fatalf("Check(%q, %q) = %v, want %v", tc.password, tc.email, got, tc.want)
			}
		})
	}
}

func TestCommonListShipped(t *testing.T) {
	if n := CommonCount(); n < 3000 {
		t.Fatalf("common password list has %d entries, want at least 3000", n)
	}
	for _, p := range []string{"123456", "password", "iloveyou", "qwerty123", "letmein"} {
		if _, ok := common()[p]; !ok {
			t.Errorf("common list lacks %q", p)
		}
	}
}

func TestErrorsNameTheField(t *testing.T) {
	for _, err := range []error{ErrTooShort, ErrTooLong, ErrCommon, ErrContainsEmail} {
		if !strings.HasPrefix(err.Error(), "password: ") {
			t.Errorf("%q does not name the field", err)
		}
	}
}
