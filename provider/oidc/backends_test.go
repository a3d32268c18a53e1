package oidc_test

import (
	"slices"
	"testing"
	"time"

	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// The whole life of a grant on PostgreSQL and Redis, with two provider
// nodes sharing them and taking requests in turn: sign-in and SSO, refresh
// rotation and reuse, introspection, UserInfo, logout with back-channel
// delivery.
func TestEndToEndPostgresRedis(t *testing.T) {
	b := backends{store: sqltest.Postgres(t), eph: ephemeraltest.Redis(t)}
	e := newEnvOn(t, b, 2)

	br := e.browser()
	academy := e.rp("academy", "academy-secret", "openid", "profile", "roles", "offline_access")
	tok, a := academy.signIn(br, "olivia@acme.example")
	sid := claimsOf(t, academy.idToken(a, tok))["sid"]

	portal := e.rp("portal", "portal-secret", "openid", "offline_access")
	a2 := portal.authorize()
	cb, pages := br.run(a2.URL, "", "")
	if len(pages) != 0 {
		t.Fatalf("second client asked for %v", pages)
	}
	ptok, err := portal.exchange(a2, cb)
	must(t, err)
	if claimsOf(t, portal.idToken(a2, ptok))["sid"] != sid {
		t.Fatal("the second client got another session")
	}

	// Every request goes to the other node than the one before.
	for i := 0; i < 2; i++ {
		if m := e.introspect(t, tok.AccessToken, ""); m["active"] != true {
			t.Fatalf("introspection: %v", m)
		}
		if m := e.userInfo(t, tok.AccessToken, "GET"); m["partner_id"] != "acme" {
			t.Fatalf("userinfo: %v", m)
		}
	}

	next, err := academy.refresh(tok.RefreshToken)
	must(t, err)
	_, err = academy.refresh(tok.RefreshToken)
	wantOAuthError(t, err, "invalid_grant")
	for _, at := range []string{tok.AccessToken, next.AccessToken} {
		for i := 0; i < 2; i++ {
			if m := e.introspect(t, at, ""); m["active"] != false {
				t.Fatalf("family not revoked on every node: %v", m)
			}
		}
	}

	// Logout at the first node reaches both clients' back channels.
	pg := br.get(e.issuer + "/oauth2/logout?client_id=academy&post_logout_redirect_uri=https://academy.example/")
	if pg.Location == nil {
		t.Fatalf("logout: %d %s", pg.Status, text(pg.Body))
	}
	var got []string
	for len(got) < 2 {
		select {
		case d := <-e.logout:
			got = append(got, d.Client)
			e.verifyLogoutToken(t, d)
		case <-time.After(10 * time.Second):
			t.Fatalf("logout tokens: %v", got)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"academy", "portal"}) {
		t.Fatalf("logout tokens to %v", got)
	}
	if m := e.introspect(t, ptok.RefreshToken, "refresh_token"); m["active"] != false {
		t.Fatalf("refresh token of the ended session: %v", m)
	}
}
