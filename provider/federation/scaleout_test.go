package federation_test

import (
	"slices"
	"testing"

	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// On PostgreSQL and Redis, with two nodes taking turns at every request, a
// federated sign-in begun on one node finishes on the other: the state,
// the flow and the verified SAML identity all live in the shared stores.
func TestTwoNodesOnPostgresAndRedis(t *testing.T) {
	e := newEnvWith(t, options{nodes: 2, backend: func(t *testing.T, c *clock) (storage.Store, storage.Ephemeral) {
		return sqltest.Postgres(t), ephemeraltest.Redis(t)
	}})

	e.oidc.next(oliviaUpstream())
	r := e.browser().signIn("olivia@acme.example", "").result(t)
	if r.UserID != "u-olivia" || !slices.Equal(r.AMR, []string{"fed"}) || r.ACR != "fed" {
		t.Fatalf("OIDC across nodes: %+v", r)
	}

	e.saml.next("okta-sam", "sam@beta.example")
	b := e.browser()
	r = b.deliver(b.samlSignIn("sam@beta.example")).result(t)
	if r.UserID != "u-sam" || !slices.Equal(r.AMR, []string{"fed"}) {
		t.Fatalf("SAML across nodes: %+v", r)
	}
	if e.user("u-olivia").UpstreamSubject != "acme-oidc|entra-olivia" || e.user("u-sam").UpstreamSubject != "beta-saml|okta-sam" {
		t.Fatal("subjects not stored")
	}
}
