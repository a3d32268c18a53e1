package e2e

import (
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// assertInactive checks that every node reports each token inactive.
func (f *fleet) assertInactive(t *testing.T, what string, tokens ...string) {
	t.Helper()
	for i := range f.Nodes {
		for _, tok := range tokens {
			if f.introspect(t, i, tok) {
				t.Errorf("%s: node %d reports a token active", what, i)
			}
		}
	}
}

// A refresh token used at one node and presented again at another is
// reuse: the whole family is revoked, and every node knows it at once.
func clusterRefreshReuse(t *testing.T, f *fleet) {
	r := f.rp(t, 0, "offline_access")
	g, _ := f.signIn(t, r, 0, fleetEmail("ben"))
	first := g.Token

	next, err := f.refresh(r, 0, first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh at node 0: %v", err)
	}
	if next.RefreshToken == "" || next.RefreshToken == first.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	for i := range f.Nodes {
		if !f.introspect(t, i, next.AccessToken) {
			t.Fatalf("node %d: the refreshed access token is not active", i)
		}
	}

	// The spent token again, at node 1: reuse.
	if _, err := f.refresh(r, 1, first.RefreshToken); grantError(err) != "invalid_grant" {
		t.Fatalf("reused refresh token at node 1: %v, want invalid_grant", err)
	}
	// Its successor, issued before the reuse, is dead too, on every node.
	if _, err := f.refresh(r, 2, next.RefreshToken); grantError(err) != "invalid_grant" {
		t.Fatalf("successor refresh token at node 2 after reuse: %v, want invalid_grant", err)
	}
	f.assertInactive(t, "after reuse", next.AccessToken, next.RefreshToken, first.AccessToken)
	for i := range f.Nodes {
		if _, err := f.userinfo(r, i, next); err == nil {
			t.Errorf("node %d: UserInfo accepted an access token of a revoked family", i)
		}
	}
}

// A token revoked at one node (RFC 7009) is refused by every node at once:
// introspection, UserInfo and the token endpoint.
func clusterRevocation(t *testing.T, f *fleet) {
	r := f.rp(t, 0, "email", "offline_access")
	g, _ := f.signIn(t, r, 1, fleetEmail("cy"))
	for i := range f.Nodes {
		if !f.introspect(t, i, g.Token.AccessToken) || !f.introspect(t, i, g.Token.RefreshToken) {
			t.Fatalf("node %d: fresh tokens not active", i)
		}
		if _, err := f.userinfo(r, i, g.Token); err != nil {
			t.Fatalf("node %d: UserInfo with a fresh token: %v", i, err)
		}
	}

	f.revoke(t, 0, g.Token.AccessToken, "access_token")
	f.assertInactive(t, "access token revoked at node 0", g.Token.AccessToken)
	for i := range f.Nodes {
		if _, err := f.userinfo(r, i, g.Token); err == nil {
			t.Errorf("node %d: UserInfo accepted a revoked access token", i)
		}
	}

	// A second grant: its refresh token revoked at node 2 is refused by
	// the token endpoint of node 1 and introspects inactive everywhere.
	g2, _ := f.signIn(t, r, 2, fleetEmail("cy"))
	f.revoke(t, 2, g2.Token.RefreshToken, "refresh_token")
	if _, err := f.refresh(r, 1, g2.Token.RefreshToken); grantError(err) != "invalid_grant" {
		t.Fatalf("refresh token revoked at node 2, used at node 1: %v, want invalid_grant", err)
	}
	f.assertInactive(t, "refresh token revoked at node 2", g2.Token.RefreshToken, g2.Token.AccessToken)
}

// A user deleted through the API at one node: every node refuses their
// tokens at once, and their SSO session is gone.
func clusterDeletedUser(t *testing.T, f *fleet) {
	r := f.rp(t, 0, "email", "offline_access")
	email := fleetEmail("gus")
	g, b := f.signIn(t, r, 2, email)
	id := f.user(t, 0, email).ID

	if s := f.api(t, 1, http.MethodDelete, "/users/"+id, nil, nil); s != http.StatusNoContent {
		t.Fatalf("deleting %s at node 1: %d", email, s)
	}
	f.assertInactive(t, "deleted user", g.Token.AccessToken, g.Token.RefreshToken)
	for i := range f.Nodes {
		if _, err := f.userinfo(r, i, g.Token); err == nil {
			t.Errorf("node %d: UserInfo answered for a deleted user", i)
		}
		if _, err := f.refresh(r, i, g.Token.RefreshToken); grantError(err) != "invalid_grant" {
			t.Errorf("node %d: refresh for a deleted user: %v, want invalid_grant", i, err)
		}
		if s := f.api(t, i, http.MethodGet, "/users/"+id, nil, nil); s != http.StatusNotFound {
			t.Errorf("node %d: GET the deleted user: %d, want 404", i, s)
		}
		// The browser's session ended with the user.
		p, _ := f.authorize(b.on(i), r, oauth2.SetAuthURLParam("prompt", "none"))
		if p.Location == nil || p.Location.Query().Get("error") != "login_required" {
			t.Errorf("node %d: prompt=none for a deleted user's browser: %d %v, want login_required", i, p.Status, p.Location)
		}
	}
}
