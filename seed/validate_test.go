package seed_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"gatehouse/seed"
)

// valid comes first in every bad file: a new partner, organization and
// user that must not be written when a later entry is refused.
const valid = `
partners:
  - id: beta
    name: Beta IT
    domain: beta.example
organizations:
  - id: hooli
    partner: beta
    co_management: true
  - id: plain
    partner: beta
users:
  - email: boss@beta.example
    partner: beta
    kind: employee
    role: owner
    password: "boss-password-for-tests"
`

// user appends one more user entry (users[1]) to valid.
func user(fields string) string { return valid + "  - " + strings.TrimSpace(fields) + "\n" }

func TestBadEntriesAreRefusedWhole(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []string // fragments of the message, beyond the file name
	}{
		{"unknown partner", user(`email: x@beta.example
    partner: nope
    kind: employee
    role: admin`), []string{`users[1] (email x@beta.example): field partner: unknown partner "nope"`}},
		{"unknown partner of an organization",
			strings.Replace(valid, "  - id: plain\n    partner: beta", "  - id: plain\n    partner: gamma", 1),
			[]string{`organizations[1] (id plain): field partner: unknown partner "gamma"`}},
		{"unknown role", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: wizard`), []string{`users[1] (email x@beta.example): field role: unknown role "wizard"`}},
		{"employee without a role", user(`email: x@beta.example
    partner: beta
    kind: employee`), []string{`users[1] (email x@beta.example): field role: is required for an employee`}},
		{"unknown organization", user(`email: x@beta.example
    partner: beta
    kind: client
    organization: initrode`), []string{`users[1] (email x@beta.example): field organization: unknown organization "initrode"`}},
		{"another partner's organization", user(`email: x@beta.example
    partner: beta
    kind: client
    organization: globex`), []string{`field organization: unknown organization "globex" of partner "beta"`}},
		{"client without an organization", user(`email: x@beta.example
    partner: beta
    kind: client`), []string{`users[1] (email x@beta.example): field organization: is required for a client user`}},
		{"employee with an unknown organization", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    organization: initrode`), []string{`users[1] (email x@beta.example): field organization: unknown organization "initrode"`}},
		{"unknown connection", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    sso: true`), []string{`users[1] (email x@beta.example): field sso: partner "beta" has no connection`}},
		{"co-managing user without co-management", user(`email: x@beta.example
    partner: beta
    kind: co_managing
    organization: plain
    username: xx`), []string{`users[1] (email x@beta.example): field organization: organization "plain" does not have co-management`}},
		{"co-managing user in the demo's unmapped organization", user(`email: x@acme.example
    partner: acme
    kind: co_managing
    organization: initech
    username: xx`), []string{`field organization: organization "initech" does not have co-management`}},
		{"duplicate username in the file", valid + `  - email: a@hooli.example
    partner: beta
    kind: co_managing
    organization: hooli
    username: sam
  - email: b@hooli.example
    partner: beta
    kind: co_managing
    organization: hooli
    username: SAM
`, []string{`users[2] (email b@hooli.example): field username: "sam" is taken by users[1] of the same partner`}},
		{"username taken in the store", user(`email: other@globex.example
    partner: acme
    kind: co_managing
    organization: globex
    username: jdoe`), []string{`users[1] (email other@globex.example): field username: "jdoe" is taken by another user of partner "acme"`}},
		{"over-long username", user(`email: x@hooli.example
    partner: beta
    kind: co_managing
    organization: hooli
    username: abcdefghijklmnopqrstuvwxyz0123456`), []string{`field username: "abcdefghijklmnopqrstuvwxyz0123456" is longer than 32 characters`}},
		{"username with bad characters", user(`email: x@hooli.example
    partner: beta
    kind: co_managing
    organization: hooli
    username: "j doe"`), []string{`field username: "j doe" may hold only`}},
		{"co-managing user without a username", user(`email: x@hooli.example
    partner: beta
    kind: co_managing
    organization: hooli`), []string{`field username: is required for a co_managing user`}},
		{"duplicate email in the file", user(`email: BOSS@beta.example
    partner: beta
    kind: employee
    role: tech`), []string{`users[1] (email boss@beta.example): field email: boss@beta.example appears twice (also users[0])`}},
		{"bad email", user(`email: "not an address"
    partner: beta
    kind: employee
    role: tech`), []string{`field email: "not an address" is not an email address`}},
		{"user moving between partners", user(`email: adam@acme.example
    partner: beta
    kind: employee
    role: tech`), []string{`users[1] (email adam@acme.example): field partner: adam@acme.example is already a user of partner "acme"`}},
		{"bad phone", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    phone: "555-0100"`), []string{`field phone: "555-0100" is not an E.164 number`}},
		{"bad kind", user(`email: x@beta.example
    partner: beta
    kind: contractor
    role: tech`), []string{`users[1] (email x@beta.example): field kind: "contractor" is not one of`}},
		{"unsupported password hash", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    password_hash: "$md5$abc"`), []string{`field password_hash: is not a PHC hash Gatehouse can verify`}},
		{"password and hash", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    password: "long-enough-password"
    password_hash: "$2a$04$6Hu650RcUCRPD6/rJM0dK.Phi3zwxsenP8aVpUuIoVS6.cESvRzeG"`), []string{`field password_hash: give password or password_hash, not both`}},
		{"bad TOTP secret", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    totp_secret: "not-base32!"`), []string{`field totp_secret: is not base32`}},
		{"bad partner id", `partners:
  - id: Bad_Partner
`, []string{`partners[0] (id Bad_Partner): field id: "Bad_Partner" must be 1 to 63 of a-z, 0-9 and -`}},
		{"duplicate partner",
			strings.Replace(valid, "partners:\n", "partners:\n  - id: beta\n", 1),
			[]string{`partners[1] (id beta): field id: partner "beta" appears twice`}},
		{"invalid redirect URI", valid + `
clients:
  - id: bad
    redirect_uris: [http://evil.example/callback]
`, []string{`clients[0] (id bad): field redirect_uris[0]: "http://evil.example/callback" must use https`}},
		{"client with an unknown allowed role", valid + `
clients:
  - id: bad
    redirect_uris: [https://ok.example/callback]
    allowed_roles: [wizard]
`, []string{`clients[0] (id bad): field allowed_roles[0]: unknown role "wizard"`}},
		{"service provider without metadata", valid + `
saml_service_providers:
  - entity_id: https://sp.example/metadata
`, []string{`saml_service_providers[0] (entity_id https://sp.example/metadata): field metadata: either metadata or metadata_url is required`}},
		{"connection of an unknown partner", valid + `
connections:
  - id: c1
    partner: nope
    type: oidc
    issuer: https://idp.example
    client_id: x
`, []string{`connections[0] (id c1): field partner: unknown partner "nope"`}},
		{"connection of an unknown type", valid + `
connections:
  - id: c1
    partner: beta
    type: ldap
`, []string{`connections[0] (id c1): field type: "ldap" is not oidc or saml`}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			a := newApplier(t, st)
			if _, err := a.Apply(ctx, seed.Demo()); err != nil {
				t.Fatal(err)
			}
			before := snap(t, st)
			for _, c := range cases {
				if b.name != "sqlite" && c.name != "username taken in the store" && c.name != "unknown partner" {
					continue // PostgreSQL: a sample, the rules do not depend on the backend
				}
				t.Run(c.name, func(t *testing.T) {
					f, path := writeSeed(t, "bad.yaml", c.body)
					_, err := a.Apply(ctx, f)
					var se *seed.Error
					if !errors.As(err, &se) {
						t.Fatalf("Apply = %v, want *seed.Error", err)
					}
					msg := err.Error()
					if !strings.Contains(msg, path+": ") {
						t.Errorf("message does not name the file %s:\n%s", path, msg)
					}
					for _, w := range c.want {
						if !strings.Contains(msg, w) {
							t.Errorf("message lacks %q:\n%s", w, msg)
						}
					}
					if err := seed.Validate(ctx, f, st, a.Roles); err == nil || err.Error() != msg {
						t.Errorf("Validate = %v, want the same refusal", err)
					}
					if after := snap(t, st); !reflect.DeepEqual(before, after) {
						t.Fatalf("a refused file changed the store")
					}
				})
			}
		})
	}
}

// INTERFACE.md's example user shows every field at once: an employee with
// a username and an organization. It applies; the fields that do not fit
// the kind are not kept.
func TestFieldsOfOtherKindsAreIgnored(t *testing.T) {
	ctx := context.Background()
	st := backends[0].open(t)
	a := newApplier(t, st)
	f, _ := writeSeed(t, "example.yaml", user(`email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    username: jdoe
    organization: hooli`)+`  - email: y@hooli.example
    partner: beta
    kind: co_managing
    organization: hooli
    username: jdoe
`)
	if _, err := a.Apply(ctx, f); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	u, err := st.GetUserByEmail(ctx, "x@beta.example")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "" || u.OrganizationID != "" {
		t.Fatalf("employee kept username %q and organization %q", u.Username, u.OrganizationID)
	}
	if c, err := st.GetUserByUsername(ctx, "beta", "jdoe"); err != nil || c.Email != "y@hooli.example" {
		t.Fatalf("the co-managing user's username: %v %+v", err, c)
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	f, _ := writeSeed(t, "many.yaml", `
users:
  - email: a@x.example
    partner: nope
    kind: employee
  - email: b@x.example
    kind: alien
`)
	err := seed.Validate(context.Background(), f, nil, nil)
	var se *seed.Error
	if !errors.As(err, &se) || len(se.Problems) < 4 {
		t.Fatalf("Validate = %v, want at least four problems", err)
	}
}

func TestParseNamesEntryAndField(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"unknown field", `users:
  - email: a@x.example
    partner: acme
    colour: blue
`, `bad.yaml: users[0] (email a@x.example): field colour: unknown field`},
		{"wrong type", `users:
  - email: a@x.example
    active: maybe
`, `bad.yaml: users[0] (email a@x.example): field active: "maybe" is not true or false`},
		{"not a list", `partners: acme
`, `bad.yaml: partners: `},
		{"unknown section", `tenants: []
`, `field tenants: unknown field`},
		{"syntax", "users: [\n", `bad.yaml: `},
		{"two documents", "partners: []\n---\nusers: []\n", `more than one YAML document`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := seed.Parse("bad.yaml", []byte(c.body))
			var se *seed.Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, want *seed.Error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("message %q lacks %q", err, c.want)
			}
		})
	}
}

func TestEmptyFileSeedsNothing(t *testing.T) {
	f, err := seed.Parse("empty.yaml", nil)
	if err != nil || len(f.Users) != 0 {
		t.Fatalf("Parse(empty) = %+v, %v", f, err)
	}
}
