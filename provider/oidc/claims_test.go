package oidc_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The roles scope puts roles, partner_id, user_kind and org_ids (for users
// of an organization) in the ID token, the access token and UserInfo.
func TestRolesClaims(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "profile", "roles")
	for _, c := range []struct {
		user, role, kind string
		orgs             []string
	}{
		{"olivia@acme.example", "owner", "employee", nil},
		{"carl@globex.example", "client", "client", []string{"globex"}},
	} {
		t.Run(c.role, func(t *testing.T) {
			tok, a := r.signIn(e.browser(), c.user)
			check := func(where string, m map[string]any) {
				t.Helper()
				if roles, _ := m["roles"].([]any); len(roles) != 1 || roles[0] != c.role {
					t.Errorf("%s: roles %v, want [%s]", where, m["roles"], c.role)
				}
				if m["partner_id"] != "acme" || m["user_kind"] != c.kind {
					t.Errorf("%s: partner_id %v user_kind %v", where, m["partner_id"], m["user_kind"])
				}
				orgs, has := m["org_ids"].([]any)
				switch {
				case c.orgs == nil && has:
					t.Errorf("%s: org_ids %v for an employee", where, orgs)
				case c.orgs != nil && (len(orgs) != 1 || orgs[0] != c.orgs[0]):
					t.Errorf("%s: org_ids %v, want %v", where, m["org_ids"], c.orgs)
				}
			}
			check("id token", claimsOf(t, r.idToken(a, tok)))
			check("access token", jwtClaims(t, tok.AccessToken))
			check("userinfo", e.userInfo(t, tok.AccessToken, "GET"))
		})
	}
}

// The access token is an RFC 9068 JWT.
func TestAccessTokenIsRFC9068(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "email", "offline_access")
	tok, _ := r.signIn(e.browser(), "olivia@acme.example")
	head := jwtHeader(t, tok.AccessToken)
	if head["typ"] != "at+jwt" || head["alg"] != "ES256" || head["kid"] == "" {
		t.Fatalf("header %v", head)
	}
	c := jwtClaims(t, tok.AccessToken)
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %s missing: %v", k, c)
		}
	}
	if c["iss"] != e.issuer || c["sub"] != "u-olivia" || c["client_id"] != "academy" {
		t.Errorf("claims %v", c)
	}
	scopes := strings.Fields(c["scope"].(string))
	slices.Sort(scopes)
	if !slices.Equal(scopes, []string{"email", "offline_access", "openid"}) {
		t.Errorf("scope %q", c["scope"])
	}
	// The signature verifies against the published JWKS.
	verifyWithJWKS(t, e, tok.AccessToken)
}

// jwtClaims decodes a JWT's payload without verifying it (the tests
// verify signatures separately).
func jwtClaims(t testing.TB, raw string) map[string]any {
	t.Helper()
	return jwtPart(t, raw, 1)
}

func jwtHeader(t testing.TB, raw string) map[string]any {
	t.Helper()
	return jwtPart(t, raw, 0)
}

func jwtPart(t testing.TB, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := b64d(parts[i])
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	return m
}
