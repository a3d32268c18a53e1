package policy

import (
	"net/mail"
	"regexp"
	"strings"
)

// The shapes of what people type to name a user, one rule for every way in
// (seed files, the API, the console), so that what one accepts the others
// accept too.

var (
	usernameRE    = regexp.MustCompile(`^[a-z0-9._-]{1,32}$`)
	phoneRE       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	domainLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// MaxEmailLength is RFC 5321's limit on a forward path.
const MaxEmailLength = 254

// ValidEmail reports whether s is a bare address (no display name, no
// surrounding space) at a mail domain, at most MaxEmailLength long. Case
// is the caller's to fold.
func ValidEmail(s string) bool {
	if len(s) > MaxEmailLength {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && ValidDomain(strings.ToLower(s[at+1:]))
}

// ValidDomain reports whether d (lower case) is a domain a mailbox on the
// internet has: dotted host-name labels, or localhost for development.
// A partner's sign-in domain follows the same rule.
func ValidDomain(d string) bool {
	if len(d) > 253 || (!strings.Contains(d, ".") && d != "localhost") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if !domainLabelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// ValidUsername reports whether s is a co-managing username: 1 to 32
// characters of a-z, 0-9, '.', '_' and '-'.
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

// ValidPhone reports whether s is an E.164 number: '+', then 7 to 15
// digits, the first not 0.
func ValidPhone(s string) bool { return phoneRE.MatchString(s) }
