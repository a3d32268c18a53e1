package oidc_test

import (
	"slices"
	"testing"
)

// A user whose role the client's allowed_roles does not include gets
// access_denied; one whose role it includes signs in.
func TestAllowedRoles(t *testing.T) {
	e := newEnv(t)
	r := e.rp("backup", "backup-secret")
	cb, _ := e.browser().run(r.authorize().URL, "tina@acme.example", "")
	if q := cb.Query(); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("tech at backup: %s", cb)
	}

	// Refused too from an SSO session made for another client.
	b := e.browser()
	e.rp("academy", "academy-secret").signIn(b, "tina@acme.example")
	cb, _ = b.run(r.authorize().URL, "", "")
	if cb.Query().Get("error") != "access_denied" {
		t.Fatalf("tech at backup: %s", cb)
	}

	tok, a := r.signIn(e.browser(), "olivia@acme.example")
	if id := r.idToken(a, tok); id.Subject != "u-olivia" {
		t.Fatalf("sub %q", id.Subject)
	}
}

// An inactive user cannot sign in; the page says only that the
// credentials are wrong.
func TestInactiveUser(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	pg := b.get(e.rp("academy", "academy-secret").authorize().URL)
	pg = b.submit(pg, pg.Forms[0], map[string][]string{"username": {"ivan@acme.example"}, "password": {goodPassword}})
	if pg.Location != nil || pg.kind() != "login" {
		t.Fatalf("inactive user got through: %v %s", pg.Location, text(pg.Body))
	}
}

// Consent: a client that is not first-party asks; allow is remembered,
// deny is access_denied, prompt=consent asks again.
func TestConsent(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	kb := e.rp("kb", "kb-secret")

	// Deny.
	cb, pages := b.run(kb.authorize().URL, "olivia@acme.example", "deny")
	if !slices.Equal(pages, []string{"login", "consent"}) || cb.Query().Get("error") != "access_denied" {
		t.Fatalf("deny: pages %v, callback %s", pages, cb)
	}
	// Allow. (A refused sign-in leaves no session behind: the password is
	// asked again.)
	a := kb.authorize()
	cb, pages = b.run(a.URL, "olivia@acme.example", "allow")
	if !slices.Equal(pages, []string{"login", "consent"}) {
		t.Fatalf("allow: pages %v", pages)
	}
	tok, err := kb.exchange(a, cb)
	must(t, err)
	kb.idToken(a, tok)
	// Remembered, even in another browser.
	a = kb.authorize()
	cb, pages = e.browser().run(a.URL, "olivia@acme.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("remembered: pages %v", pages)
	}
	_, err = kb.exchange(a, cb)
	must(t, err)
	// prompt=consent asks again.
	_, pages = b.run(kb.authorize(promptParam("consent")).URL, "", "allow")
	if !slices.Equal(pages, []string{"consent"}) {
		t.Fatalf("prompt=consent: pages %v", pages)
	}
	// More scopes than were allowed: asked again.
	kb2 := e.rp("kb", "kb-secret", "openid", "profile", "email", "roles")
	_, pages = b.run(kb2.authorize().URL, "", "allow")
	if !slices.Equal(pages, []string{"consent"}) {
		t.Fatalf("new scope: pages %v", pages)
	}
}
