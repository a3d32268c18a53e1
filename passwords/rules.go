package passwords

import (
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// Limits of a new password.
const (
	// MinLength is the fewest characters (Unicode code points) a password
	// may have.
	MinLength = 12
	// MaxBytes bounds a password so that nobody can make argon2id read
	// megabytes; sign-in refuses longer input before hashing it.
	MaxBytes = 1024
	// minLocalPart is the shortest email name a password may not contain;
	// shorter ones ("al") are too likely to appear by chance.
	minLocalPart = 3
)

// Why Check refused a password. Each message names the field, for forms
// and the API alike.
var (
	ErrTooShort      = errors.New("password: must be at least 12 characters")
	ErrTooLong       = errors.New("password: must be at most 1024 bytes")
	ErrCommon        = errors.New("password: is one of the most common passwords; choose another")
	ErrContainsEmail = errors.New("password: must not contain your email name")
)

// commonList is the shipped list of common passwords, one per line, lower
// case; it is compared in lower case.
//
//go:embed common-passwords.txt
var commonList string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

func common() map[string]struct{} {
	commonOnce.Do(func() {
		lines := strings.Split(commonList, "\n")
		commonSet = make(map[string]struct{}, len(lines))
		for _, l := range lines {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") {
				commonSet[strings.ToLower(l)] = struct{}{}
			}
		}
	})
	return commonSet
}

// CommonCount is the number of entries in the shipped list.
func CommonCount() int { return len(common()) }

// Check applies Gatehouse's rules to a new password for the user with this
// email: long enough, not too long, not a common password, and not
// containing the email's local part. It says why with one of the Err*
// errors above.
func Check(password, email string) error {
	if len(password) > MaxBytes {
		return ErrTooLong
	}
	if utf8.RuneCountInString(password) < MinLength {
		return ErrTooShort
	}
	lower := strings.ToLower(password)
	if _, ok := common()[lower]; ok {
		return ErrCommon
	}
	local, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if utf8.RuneCountInString(local) >= minLocalPart && strings.Contains(lower, local) {
		return ErrContainsEmail
	}
	return nil
}
