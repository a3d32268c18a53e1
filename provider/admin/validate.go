package admin

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gatehouse/provider/policy"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

var (
	// idRE is an identifier people choose: organizations and connections.
	idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

const (
	maxName   = 200
	maxReason = 500
	maxText   = 512
)

// normEmail checks an email address (policy.ValidEmail) and returns it
// lower-cased.
func normEmail(field, s string) (string, *web.APIError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errField(field, "is required")
	}
	if !policy.ValidEmail(s) {
		return "", errField(field, "is not a valid email address")
	}
	return strings.ToLower(s), nil
}

// cleanText trims s and checks it is printable text of at most max
// characters; required refuses the empty string.
func cleanText(field, s string, max int, required bool) (string, *web.APIError) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", errField(field, "is required")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", errField(field, "must be text of at most "+strconv.Itoa(max)+" characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", errField(field, "must not contain control characters")
		}
	}
	return s, nil
}

func checkPhone(s string) (string, *web.APIError) {
	s = strings.TrimSpace(s)
	if s != "" && !policy.ValidPhone(s) {
		return "", errField("phone", "must be an E.164 number such as +15555550100")
	}
	return s, nil
}

func checkUsername(s string) (string, *web.APIError) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 32 {
		return "", errField("username", "must be at most 32 characters")
	}
	if !policy.ValidUsername(s) {
		return "", errField("username", "must be 1 to 32 characters of a-z, 0-9, '.', '_' and '-'")
	}
	return s, nil
}

func checkID(s string) *web.APIError {
	if !idRE.MatchString(s) {
		return errField("id", "must be 1 to 64 characters of a-z, 0-9 and '-', starting with a letter or digit")
	}
	return nil
}

// notificationsIn is the body of PUT .../notifications and the
// notifications of a new user.
type notificationsIn struct {
	Error     bool   `json:"error"`
	Invoice   bool   `json:"invoice"`
	General   bool   `json:"general"`
	Frequency string `json:"frequency"`
}

// checkNotifications refuses a type role may not receive, naming it, and
// an unknown frequency.
func checkNotifications(in notificationsIn, role string) (storage.Notifications, *web.APIError) {
	for _, t := range []struct {
		name string
		on   bool
	}{{"error", in.Error}, {"invoice", in.Invoice}, {"general", in.General}} {
		if t.on && !policy.MayReceive(t.name, role) {
			return storage.Notifications{}, errField(t.name, "the role "+role+" may not receive these notifications")
		}
	}
	if !policy.ValidFrequency(in.Frequency) {
		return storage.Notifications{}, errField("frequency", "must be one of "+strings.Join(policy.Frequencies, ", "))
	}
	return storage.Notifications(in), nil
}

// defaultNotifications: a new user receives every type their role may,
// immediately, until they or an admin say otherwise.
func defaultNotifications(role string) storage.Notifications {
	return storage.Notifications{
		Error:     policy.MayReceive("error", role),
		Invoice:   policy.MayReceive("invoice", role),
		General:   policy.MayReceive("general", role),
		Frequency: "immediately",
	}
}

// fitNotifications turns off the types a new role may not receive.
func fitNotifications(n storage.Notifications, role string) storage.Notifications {
	n.Error = n.Error && policy.MayReceive("error", role)
	n.Invoice = n.Invoice && policy.MayReceive("invoice", role)
	n.General = n.General && policy.MayReceive("general", role)
	if n.Frequency == "" {
		n.Frequency = "immediately"
	}
	return n
}
