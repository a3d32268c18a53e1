package seed_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"gatehouse/passwords"
	"gatehouse/seed"
	"gatehouse/storage"
)

// full is a seed with one of everything, including what needs care to
// stay idempotent: sealed secrets, a TOTP factor, a given password hash.
const full = `
partners:
  - id: beta
    name: Beta IT
    domain: beta.example
    primary_email: owner@beta.example
    require_mfa: true
organizations:
  - id: hooli
    partner: beta
    name: Hooli
    co_management: true
    saas_account: SP-9
users:
  - email: Owner@Beta.example
    partner: beta
    kind: employee
    role: owner
    name: Beta Owner
    password: "owner-password-for-tests"
    phone: "+15555550111"
    totp_secret: "jbsw y3dp ehpk 3pxp"
  - email: sam@hooli.example
    partner: beta
    kind: co_managing
    organization: hooli
    username: Sam.H
    password_hash: "$2a$04$6Hu650RcUCRPD6/rJM0dK.Phi3zwxsenP8aVpUuIoVS6.cESvRzeG"
  - email: ola@hooli.example
    partner: beta
    kind: org_user
    organization: hooli
    active: false
    sso: true
    password_reset_disabled: true
connections:
  - id: beta-entra
    partner: beta
    type: oidc
    issuer: https://login.example.com/tenant/v2.0
    client_id: gatehouse
    client_secret: s3cret
clients:
  - id: kb
    secret: kb-secret-for-tests
    redirect_uris: [https://kb.example/callback]
    allowed_roles: [owner, admin]
    id_token_signed_response_alg: ES256
saml_service_providers:
  - entity_id: https://backup.example/saml/metadata
    name: Backup
    metadata: "<EntityDescriptor entityID=\"https://backup.example/saml/metadata\"></EntityDescriptor>"
    allowed_roles: [owner]
`

func TestDemoSeed(t *testing.T) {
	ctx := context.Background()
	st := backends[0].open(t)
	a := newApplier(t, st)
	res, err := a.Apply(ctx, seed.Demo())
	if err != nil {
		t.Fatal(err)
	}
	// 1 partner, 2 organizations, 6 users, 2 clients.
	if res.Created != 11 || res.Updated != 0 {
		t.Fatalf("demo apply: %s", res)
	}
	creds := seed.Credentials(seed.Demo())
	if len(creds) < 6 {
		t.Fatalf("demo credentials: %v", creds)
	}
	for _, c := range creds {
		if len(c.Password) < 12 {
			t.Errorf("%s: demo password %q is shorter than 12 characters", c.Login, c.Password)
		}
		u, err := st.GetUserByEmail(ctx, c.Login)
		if login, domain, _ := strings.Cut(c.Login, "@"); err != nil && domain == "acme.example" {
			u, err = st.GetUserByUsername(ctx, "acme", login) // a co-managing user's sign-in name
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Login, err)
		}
		if ok, _, err := passwords.Verify(cheap, u.PasswordHash, c.Password); err != nil || !ok {
			t.Errorf("%s: the printed password does not verify", c.Login)
		}
	}
	jdoe, err := st.GetUserByUsername(ctx, "acme", "jdoe")
	if err != nil || jdoe.Kind != storage.KindCoManaging || jdoe.OrganizationID != "globex" || jdoe.Role != "co_managing" {
		t.Fatalf("jdoe = %+v, %v", jdoe, err)
	}
	initech, err := st.GetOrganization(ctx, "acme", "initech")
	if err != nil || initech.SaaSAccount != "" || initech.CoManagement {
		t.Fatalf("initech = %+v, %v", initech, err)
	}
	academy, err := st.GetClient(ctx, "academy")
	if err != nil || !academy.FirstParty || academy.Public() {
		t.Fatalf("academy = %+v, %v", academy, err)
	}
	portal, err := st.GetClient(ctx, "ticket-portal")
	if err != nil || portal.FirstParty || !portal.Public() {
		t.Fatalf("ticket-portal = %+v, %v", portal, err)
	}
	events, _, err := st.ListAudit(ctx, "acme", storage.Page{})
	if err != nil || len(events) != 1 || events[0].Action != seed.AuditAction || events[0].Actor != "seed" {
		t.Fatalf("audit = %+v, %v", events, err)
	}
}

func TestApplyTwiceChangesNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			a := newApplier(t, st)
			f, _ := writeSeed(t, "full.yaml", full)
			for _, file := range []*seed.File{seed.Demo(), f} {
				if _, err := a.Apply(ctx, file); err != nil {
					t.Fatal(err)
				}
			}
			before := snap(t, st)
			for _, file := range []*seed.File{seed.Demo(), f} {
				res, err := a.Apply(ctx, file)
				if err != nil {
					t.Fatal(err)
				}
				if res.Changed() != 0 {
					t.Errorf("%s: second apply changed %s", file.Path, res)
				}
			}
			after := snap(t, st)
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("second apply changed the store:\nbefore %+v\nafter  %+v", before, after)
			}
			if len(after.Factors) != 1 {
				t.Fatalf("factors = %d, want the one TOTP factor", len(after.Factors))
			}
		})
	}
}

func TestApplyStoresSecretsAsDocumented(t *testing.T) {
	ctx := context.Background()
	st := backends[0].open(t)
	a := newApplier(t, st)
	f, _ := writeSeed(t, "full.yaml", full)
	if _, err := a.Apply(ctx, f); err != nil {
		t.Fatal(err)
	}
	owner, err := st.GetUserByEmail(ctx, "owner@beta.example")
	if err != nil {
		t.Fatal(err)
	}
	if owner.Email != "owner@beta.example" || owner.PasswordChangedAt.IsZero() {
		t.Errorf("owner = %+v", owner)
	}
	factors, err := st.ListFactors(ctx, owner.ID)
	if err != nil || len(factors) != 1 {
		t.Fatalf("factors = %v, %v", factors, err)
	}
	secret, err := a.Box.Open(factors[0].Secret)
	if err != nil || string(secret) != "JBSWY3DPEHPK3PXP" || factors[0].Kind != storage.FactorTOTP || factors[0].Name != seed.TOTPFactorName {
		t.Fatalf("TOTP factor = %+v, secret %q, %v", factors[0], secret, err)
	}

	sam, err := st.GetUserByUsername(ctx, "beta", "sam.h")
	if err != nil || !strings.HasPrefix(sam.PasswordHash, "$2a$04$") || sam.Role != "co_managing" {
		t.Fatalf("sam = %+v, %v", sam, err)
	}
	ola, err := st.GetUserByEmail(ctx, "ola@hooli.example")
	if err != nil || ola.Active || !ola.SSO || !ola.PasswordResetDisabled || ola.Role != "org_admin" || ola.PasswordHash != "" {
		t.Fatalf("ola = %+v, %v", ola, err)
	}

	conn, err := st.GetConnection(ctx, "beta-entra")
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := a.Box.Open(conn.ClientSecret); err != nil || string(cs) != "s3cret" {
		t.Fatalf("connection secret = %q, %v", cs, err)
	}
	kb, err := st.GetClient(ctx, "kb")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := passwords.Verify(cheap, kb.SecretHash, "kb-secret-for-tests"); !ok || err != nil {
		t.Fatalf("client secret hash does not verify: %v", err)
	}
	if kb.TokenEndpointAuthMethod != "client_secret_basic" || kb.IDTokenAlg != "ES256" || len(kb.GrantTypes) == 0 {
		t.Fatalf("kb defaults = %+v", kb)
	}
}

// TestApplyUpdatesInPlace changes a file and applies it again: records
// are updated, not duplicated, and keep their ids and creation times.
func TestApplyUpdatesInPlace(t *testing.T) {
	ctx := context.Background()
	st := backends[0].open(t)
	a := newApplier(t, st)
	f, _ := writeSeed(t, "full.yaml", full)
	if _, err := a.Apply(ctx, f); err != nil {
		t.Fatal(err)
	}
	before, _ := st.GetUserByEmail(ctx, "owner@beta.example")

	changed := strings.NewReplacer(
		`password: "owner-password-for-tests"`, `password: "a-new-password-for-tests"`,
		`totp_secret: "jbsw y3dp ehpk 3pxp"`, `totp_secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"`,
		`client_secret: s3cret`, `client_secret: other`,
		`name: Hooli`, `name: Hooli Inc`,
	).Replace(full)
	f2, _ := writeSeed(t, "full.yaml", changed)
	res, err := a.Apply(ctx, f2)
	if err != nil {
		t.Fatal(err)
	}
	// owner (password and factor), the organization, the connection.
	if res.Created != 0 || res.Updated != 3 {
		t.Fatalf("apply of the changed file: %s", res)
	}
	after, _ := st.GetUserByEmail(ctx, "owner@beta.example")
	if after.ID != before.ID || !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("user identity changed: %v %v → %v %v", before.ID, before.CreatedAt, after.ID, after.CreatedAt)
	}
	if ok, _, _ := passwords.Verify(cheap, after.PasswordHash, "a-new-password-for-tests"); !ok {
		t.Error("the new password does not verify")
	}
	if !after.PasswordChangedAt.After(before.PasswordChangedAt) && !after.PasswordChangedAt.Equal(before.PasswordChangedAt) {
		t.Error("password_changed_at went back")
	}
	factors, _ := st.ListFactors(ctx, after.ID)
	if len(factors) != 1 {
		t.Fatalf("factors = %d, want the seed's factor replaced, not duplicated", len(factors))
	}
	if s, _ := a.Box.Open(factors[0].Secret); string(s) != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Errorf("factor secret = %q", s)
	}
	events, _, _ := st.ListAudit(ctx, "beta", storage.Page{})
	if len(events) != 2 {
		t.Errorf("audit events = %d, want one per apply that changed something", len(events))
	}
}

// TestConcurrentApply is two nodes starting at once with the same seed (as
// `serve --demo` on every node of a cluster does): both succeed, and the
// records exist once.
func TestConcurrentApply(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			box := newBox(t)
			errs := make(chan error, 2)
			for range 2 {
				go func() {
					a := &seed.Applier{Store: st, Box: box, Params: cheap}
					_, err := a.Apply(ctx, seed.Demo())
					errs <- err
				}()
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("concurrent apply: %v", err)
				}
			}
			s := snap(t, st)
			if len(s.Partners) != 1 || s.UserCount != 6 || len(s.Clients) != 2 {
				t.Fatalf("after two concurrent applies: %d partners, %d users, %d clients",
					len(s.Partners), s.UserCount, len(s.Clients))
			}
		})
	}
}
