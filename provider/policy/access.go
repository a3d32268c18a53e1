package policy

// Service is a relying party as far as access goes: an OIDC client or a
// SAML service provider, with the roles it admits.
type Service struct {
	Type         string   `json:"type"` // "oidc" or "saml"
	ID           string   `json:"id"`   // client id, or SAML entity id
	Name         string   `json:"name"`
	AllowedRoles []string `json:"-"`
}

// MayOpen reports whether a user with role may use s (its allowed_roles is
// empty or names the role).
func MayOpen(role string, s Service) bool { return RoleAllowed(s.AllowedRoles, role) }

// AccessibleServices returns the services a user with role may open, in
// the order given.
func AccessibleServices(role string, services []Service) []Service {
	out := []Service{}
	for _, s := range services {
		if MayOpen(role, s) {
			out = append(out, s)
		}
	}
	return out
}
