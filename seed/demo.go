package seed

import (
	_ "embed"
	"fmt"

	"gatehouse/storage"
)

//go:embed demo.yaml
var demoYAML []byte

// DemoPath names the built-in demo seed in messages.
const DemoPath = "(built-in demo seed)"

// Demo returns the built-in demo seed, parsed afresh so callers may change
// their copy.
func Demo() *File {
	f, err := Parse(DemoPath, demoYAML)
	if err != nil {
		panic("seed: the built-in demo seed does not parse: " + err.Error())
	}
	return f
}

// Credential is a way to sign in that a seed file sets up.
type Credential struct {
	Login       string // what goes in the sign-in form's username field
	Password    string
	Description string
}

// Credentials lists the users of f that have a plaintext password, with
// the name each signs in with: the email, or username@domain for a
// co-managing user (the partner's domain as the file gives it).
func Credentials(f *File) []Credential {
	domains := map[string]string{}
	for _, p := range f.Partners {
		domains[p.ID] = p.Domain
	}
	var out []Credential
	for _, u := range f.Users {
		if u.Password == "" {
			continue
		}
		c := Credential{Login: normEmail(u.Email), Password: u.Password}
		role := u.Role
		if role == "" {
			role = defaultRoles[storage.UserKind(u.Kind)]
		}
		switch storage.UserKind(u.Kind) {
		case storage.KindEmployee:
			c.Description = fmt.Sprintf("%s, %s of %s", u.Name, role, u.Partner)
		case storage.KindCoManaging:
			c.Login = u.Username + "@" + domains[u.Partner]
			c.Description = fmt.Sprintf("%s, co-managing user at %s (email %s); must enrol a second factor", u.Name, u.Organization, u.Email)
		default:
			c.Description = fmt.Sprintf("%s, %s user at %s", u.Name, u.Kind, u.Organization)
		}
		out = append(out, c)
	}
	return out
}
