package oidc

import (
	"strings"
	"time"

	"github.com/ory/fosite"
	fjwt "github.com/ory/fosite/token/jwt"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

// roleClaims are the claims of the roles scope (INTERFACE.md section 7).
type roleClaims struct {
	Roles     []string `json:"roles"`
	PartnerID string   `json:"partner_id,omitempty"`
	UserKind  string   `json:"user_kind,omitempty"`
	OrgIDs    []string `json:"org_ids,omitempty"`
}

// rolesOf returns a user's role claims. org_ids is given for the kinds of
// user that belong to an organization.
func rolesOf(u storage.User) *roleClaims {
	rc := &roleClaims{PartnerID: u.PartnerID, UserKind: string(u.Kind), Roles: []string{}}
	if u.Role != "" {
		rc.Roles = []string{u.Role}
	}
	switch u.Kind {
	case storage.KindClient, storage.KindOrgUser, storage.KindCoManaging:
		rc.OrgIDs = []string{}
		if u.OrganizationID != "" {
			rc.OrgIDs = []string{u.OrganizationID}
		}
	}
	return rc
}

// add puts the role claims into a claim set.
func (rc *roleClaims) add(m map[string]any) {
	m["roles"] = rc.Roles
	if rc.PartnerID != "" {
		m["partner_id"] = rc.PartnerID
	}
	if rc.UserKind != "" {
		m["user_kind"] = rc.UserKind
	}
	if rc.OrgIDs != nil {
		m["org_ids"] = rc.OrgIDs
	}
}

// Gatehouse keeps no per-user language or time zone: its pages are in
// English and it keeps every time in UTC. INTERFACE.md section 7 promises
// locale and zoneinfo with the profile scope, so these are what it says.
const (
	profileLocale   = "en"  // BCP 47
	profileZoneinfo = "UTC" // IANA time zone database
)

// userInfoClaims are the claims the granted scopes release about u, as
// /userinfo answers them (without sub).
func userInfoClaims(u storage.User, scopes fosite.Arguments) map[string]any {
	m := map[string]any{}
	if scopes.Has("profile") {
		given, family := splitName(u.Name)
		m["name"] = u.Name
		if given != "" {
			m["given_name"] = given
		}
		if family != "" {
			m["family_name"] = family
		}
		m["locale"] = profileLocale
		m["zoneinfo"] = profileZoneinfo
		if t := u.UpdatedAt; !t.IsZero() {
			m["updated_at"] = t.Unix()
		} else if !u.CreatedAt.IsZero() {
			m["updated_at"] = u.CreatedAt.Unix()
		}
	}
	if scopes.Has("email") && u.Email != "" {
		m["email"] = u.Email
		// Addresses come from an administrator and are confirmed before a
		// change takes effect.
		m["email_verified"] = true
	}
	if scopes.Has("phone") && u.Phone != "" {
		m["phone_number"] = u.Phone
		// Gatehouse stores the number an administrator typed; nobody
		// proved they hold it.
		m["phone_number_verified"] = false
	}
	if scopes.Has("roles") {
		rolesOf(u).add(m)
	}
	return m
}

// splitName splits a display name into given and family names: the first
// word, and the rest.
func splitName(name string) (given, family string) {
	f := strings.Fields(name)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return f[0], ""
	}
	return f[0], strings.Join(f[1:], " ")
}

// userSession builds the session of an authorization: the user, how and
// when they signed in (from the finished flow), and the claims of the
// granted scopes. requestedAt is when the authorization request arrived;
// fosite checks prompt and max_age against it.
func userSession(u storage.User, scopes fosite.Arguments, f *login.Flow, requestedAt time.Time) *session {
	s := &session{
		Subject: u.ID,
		SID:     f.SessionID,
		Headers: &fjwt.Headers{},
	}
	s.setUser(u, scopes)
	amr := append([]string(nil), f.AMR...)
	s.Claims = &fjwt.IDTokenClaims{
		Subject:     u.ID,
		RequestedAt: requestedAt.UTC(),
		// auth_time is in seconds; truncating here keeps fosite's
		// prompt=none / prompt=login comparisons with RequestedAt (also
		// whole seconds) exact.
		AuthTime:                            f.AuthTime.Truncate(time.Second).UTC(),
		AuthenticationMethodsReferences:     amr,
		AuthenticationContextClassReference: login.ACR(amr),
		Extra:                               s.idTokenExtra(),
	}
	return s
}

// setUser (re)computes the claims the granted scopes release about u.
func (s *session) setUser(u storage.User, scopes fosite.Arguments) {
	s.UserInfo = userInfoClaims(u, scopes)
	s.Roles = nil
	if scopes.Has("roles") {
		s.Roles = rolesOf(u)
	}
}

// idTokenExtra is what the ID token carries beyond fosite's own claims.
func (s *session) idTokenExtra() map[string]any {
	m := make(map[string]any, len(s.UserInfo)+1)
	for k, v := range s.UserInfo {
		m[k] = v
	}
	if s.SID != "" {
		m["sid"] = s.SID
	}
	return m
}
