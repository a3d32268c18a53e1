package seed

import (
	"fmt"
	"net/url"
	"strings"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

func (v *validator) checkUsers(list []User) {
	emails := map[string]int{}    // email → index of its first entry
	usernames := map[string]int{} // partner/username → index
	// Usernames the file gives, by email, so a store holder that the file
	// renames does not count as taking its old name.
	fileNames := map[string]string{}
	for _, u := range list {
		fileNames[normEmail(u.Email)] = strings.ToLower(strings.TrimSpace(u.Username))
	}

	for i, u := range list {
		email := normEmail(u.Email)
		e := label("users", i, "email", email)
		ok := true
		bad := func(field, format string, args ...any) {
			v.ps.add(e, field, format, args...)
			ok = false
		}

		switch {
		case email == "":
			bad("email", "is required")
		case !policy.ValidEmail(email):
			bad("email", "%q is not an email address", u.Email)
		default:
			if j, dup := emails[email]; dup {
				bad("email", "%s appears twice (also users[%d])", email, j)
			} else {
				emails[email] = i
			}
		}

		partnerOK := v.knownPartner(e, u.Partner)
		ok = ok && partnerOK
		if partnerOK && email != "" {
			if old, exists := stored(v, func(s storage.Store) (storage.User, error) { return s.GetUserByEmail(v.ctx, email) }); exists && old.PartnerID != u.Partner {
				bad("partner", "%s is already a user of partner %q; a user cannot move between partners", email, old.PartnerID)
			}
		}

		kind := storage.UserKind(u.Kind)
		switch {
		case u.Kind == "":
			bad("kind", "is required: employee, client, org_user or co_managing")
		case !kind.Valid():
			bad("kind", "%q is not one of employee, client, org_user, co_managing", u.Kind)
		}

		role := u.Role
		if role == "" && kind.Valid() {
			role = defaultRoles[kind]
			if role == "" {
				bad("role", "is required for an employee")
			}
		}
		if role != "" {
			if _, known := v.roles.Lookup(role); !known {
				if u.Role == "" {
					bad("role", "unknown role %q (the default for kind %s)", role, kind)
				} else {
					bad("role", "unknown role %q", role)
				}
			}
		}

		// Organization: required for everyone but employees. An employee
		// belongs to the partner: an organization given for one is checked
		// (an unknown one is refused) but not kept, so that INTERFACE.md's
		// example entry, which shows every field at once, applies as
		// written.
		var org storage.Organization
		switch {
		case kind == storage.KindEmployee && u.Organization != "":
			if partnerOK {
				if _, found := v.organization(u.Partner, u.Organization); !found && v.err == nil {
					bad("organization", "unknown organization %q of partner %q", u.Organization, u.Partner)
				}
			}
		case kind.Valid() && kind != storage.KindEmployee && u.Organization == "":
			bad("organization", "is required for a %s user", kind)
		case kind.Valid() && kind != storage.KindEmployee && partnerOK:
			var found bool
			if org, found = v.organization(u.Partner, u.Organization); !found {
				if v.err == nil {
					bad("organization", "unknown organization %q of partner %q", u.Organization, u.Partner)
				}
			} else if kind == storage.KindCoManaging && !org.CoManagement {
				bad("organization", "organization %q does not have co-management, so it cannot have co-managing users", u.Organization)
			}
		}

		// Username: co-managing users only, unique within the partner. For
		// any other kind it is ignored, like an employee's organization.
		username := strings.ToLower(strings.TrimSpace(u.Username))
		if kind.Valid() && kind != storage.KindCoManaging {
			username = ""
		}
		switch {
		case username == "" && kind == storage.KindCoManaging:
			bad("username", "is required for a co_managing user (they sign in as username@partner-domain)")
		case username != "" && len(username) > MaxUsername:
			bad("username", "%q is longer than %d characters", username, MaxUsername)
		case username != "" && !policy.ValidUsername(username):
			bad("username", "%q may hold only a-z, 0-9, '.', '_' and '-'", username)
		case username != "" && partnerOK:
			key := u.Partner + "/" + username
			if j, dup := usernames[key]; dup {
				bad("username", "%q is taken by users[%d] of the same partner", username, j)
				break
			}
			usernames[key] = i
			holder, taken := stored(v, func(s storage.Store) (storage.User, error) {
				return s.GetUserByUsername(v.ctx, u.Partner, username)
			})
			if taken && holder.Email != email {
				if renamed, inFile := fileNames[holder.Email]; !inFile || renamed == username {
					bad("username", "%q is taken by another user of partner %q", username, u.Partner)
				}
			}
			if p, _ := v.partner(u.Partner); p.Domain == "" {
				bad("username", "partner %q has no domain, so a co-managing user could not sign in", u.Partner)
			}
		}

		phone := strings.TrimSpace(u.Phone)
		if phone != "" && !policy.ValidPhone(phone) {
			bad("phone", "%q is not an E.164 number such as +15555550100", u.Phone)
		}

		switch {
		case u.Password != "" && u.PasswordHash != "":
			bad("password_hash", "give password or password_hash, not both")
		case u.PasswordHash != "":
			if err := checkPasswordHash(u.PasswordHash); err != nil {
				bad("password_hash", "%v", err)
			}
		}

		var totp string
		if u.TOTPSecret != "" {
			var err error
			if totp, err = canonicalTOTP(u.TOTPSecret); err != nil {
				bad("totp_secret", "%v", err)
			}
		}

		if u.SSO && partnerOK && !v.hasConnection(u.Partner) && v.err == nil {
			bad("sso", "partner %q has no connection to sign in through", u.Partner)
		}

		if !ok {
			continue
		}
		active := true
		if u.Active != nil {
			active = *u.Active
		}
		v.plan.users = append(v.plan.users, plannedUser{
			u: storage.User{
				PartnerID: u.Partner, Email: email, Name: orDefault(u.Name, email), Kind: kind, Role: role,
				Phone: phone, Username: username, OrganizationID: org.ID,
				Active: active, SSO: u.SSO, PasswordResetDisabled: u.PasswordResetDisabled,
			},
			password:     u.Password,
			passwordHash: u.PasswordHash,
			totp:         totp,
		})
	}
}

// checkHTTPURL accepts an absolute http(s) URL with a host.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}
