package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"golang.org/x/oauth2"
)

// An RP-initiated logout at one node ends the sign-in session on all of
// them: the same session cookie (a second window, or a copy) gets
// login_required from a silent request at any node, and the session's
// refresh token is refused.
func clusterLogout(t *testing.T, f *fleet) {
	r := f.rp(t, 0, "offline_access")
	g, a := f.signIn(t, r, 0, fleetEmail("dee"))
	other := f.browser(t, 2)
	a.cookiesTo(other)

	// Before: the copied session is good on every node.
	for i := range f.Nodes {
		p, v := f.authorize(other.on(i), r, oauth2.SetAuthURLParam("prompt", "none"))
		f.exchange(t, r, p, v, i)
	}

	q := url.Values{"id_token_hint": {g.RawID}, "post_logout_redirect_uri": {fleetLoggedIn}, "state": {"bye"}}
	p := a.on(1).get(f.Issuer + "/oauth2/logout?" + q.Encode())
	if p.Location == nil || p.Location.String() != fleetLoggedIn+"?state=bye" {
		t.Fatalf("logout at node 1: %d, Location %v:\n%s", p.Status, p.Location, p.Body)
	}

	for i := range f.Nodes {
		for name, b := range map[string]*fleetBrowser{"logged-out browser": a, "copied session": other} {
			p, _ := f.authorize(b.on(i), r, oauth2.SetAuthURLParam("prompt", "none"))
			if p.Location == nil || p.Location.Query().Get("error") != "login_required" {
				t.Errorf("node %d, %s: prompt=none after logout: %d %v, want login_required", i, name, p.Status, p.Location)
			}
		}
		if _, err := f.refresh(r, i, g.Token.RefreshToken); grantError(err) != "invalid_grant" {
			t.Errorf("node %d: the logged-out session's refresh token: %v, want invalid_grant", i, err)
		}
	}
}

// An admin's second-factor pause set through one node is honoured by a
// sign-in on another, once: the sign-in after it asks for the code again.
func clusterMFAPause(t *testing.T, f *fleet) {
	r := f.rp(t, 0)
	email := fleetEmail("fay")

	askedForCode := func(i int) bool {
		t.Helper()
		b := f.browser(t, i)
		p, _ := f.authorize(b, r)
		p = b.signIn(p, email, fleetPassword)
		if p.Location != nil {
			return false
		}
		for _, fm := range p.Forms {
			if _, ok := fm.Fields["code"]; ok {
				return true
			}
		}
		t.Fatalf("node %d: after the password, neither the relying party nor a code form: %d at %s:\n%s", i, p.Status, p.URL, p.Body)
		return false
	}
	if !askedForCode(2) {
		t.Fatal("a user with TOTP enrolled was not asked for a code")
	}

	id := f.user(t, 1, email).ID
	var pause map[string]any
	if s := f.api(t, 0, http.MethodPost, "/users/"+id+"/mfa/pause", map[string]string{"until": "next_login", "reason": "lost phone"}, &pause); s != http.StatusOK {
		t.Fatalf("pausing at node 0: %d", s)
	}
	for i := range f.Nodes {
		if !f.user(t, i, email).MFA.PauseNextLogin {
			t.Fatalf("node %d: the API does not show the pause", i)
		}
	}

	b := f.browser(t, 1)
	p, v := f.authorize(b, r)
	p = b.signIn(p, email, fleetPassword)
	g := f.exchange(t, r, p, v, 1)
	if amr := g.claims(t).AMR; !slices.Contains(amr, "pwd") || slices.Contains(amr, "otp") || slices.Contains(amr, "mfa") {
		t.Fatalf("amr %v after a paused sign-in", amr)
	}

	if !askedForCode(0) {
		t.Fatal("a next-login pause skipped the factor for a second sign-in")
	}
}
