package login_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gatehouse/provider/login"
)

func isConsentPage(p page) bool {
	return p.status == http.StatusOK && p.url.Path == "/login/consent" &&
		strings.Contains(p.body, `name="consent" value="allow"`) && strings.Contains(p.body, `name="consent" value="deny"`)
}

func TestConsentAllowRememberedForced(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.signIn("rp=wiki&scopes=openid,email,roles", "alice@acme.example", goodPassword)
	if !isConsentPage(p) {
		t.Fatalf("want the consent page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	for _, want := range []string{"Test App wiki", "Your email address", "Your roles"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	r := b.submit(p, map[string]string{"consent": "allow"}).result(t)
	if r.Error != "" || r.UserID != "u-alice" {
		t.Fatalf("allow: %+v", r)
	}
	c, err := e.dir.GetConsent(context.Background(), "u-alice", "wiki")
	if err != nil || !slices.Equal(c.Scopes, []string{"email", "openid", "roles"}) {
		t.Fatalf("stored consent %+v, %v", c, err)
	}

	// Remembered: the same or fewer scopes pass without a page, even passively.
	r = b.get("/test/begin?rp=wiki&scopes=openid,email&passive").result(t)
	if r.Error != "" || b.sawLoginPage() {
		t.Fatalf("remembered: %+v, visits %v", r, b.visits)
	}
	// A new scope asks again; passively that is consent_required.
	if r = b.get("/test/begin?rp=wiki&scopes=openid,profile&passive").result(t); r.Error != login.ErrConsentRequired {
		t.Fatalf("new scope, passive: %+v", r)
	}
	if p = b.get("/test/begin?rp=wiki&scopes=openid,profile"); !isConsentPage(p) {
		t.Fatalf("new scope: %d %s", p.status, p.url)
	}
	// Forced: asked even for remembered scopes.
	if p = b.get("/test/begin?rp=wiki&scopes=openid&force_consent"); !isConsentPage(p) {
		t.Fatalf("forced: %d %s", p.status, p.url)
	}
	// Consent is per client.
	if p = b.get("/test/begin?rp=other&scopes=openid"); !isConsentPage(p) {
		t.Fatalf("other client: %d %s", p.status, p.url)
	}
	// Neither allow nor deny: a clear 400 naming the field, still on the page.
	p = b.submit(p, map[string]string{"consent": "maybe"})
	if p.status != http.StatusBadRequest || !strings.Contains(p.errorText(), "consent") {
		t.Fatalf("bad consent value: %d %q", p.status, p.errorText())
	}
}

func TestConsentDeny(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.signIn("rp=wiki&scopes=openid", "alice@acme.example", goodPassword)
	r := b.submit(p, map[string]string{"consent": "deny"}).result(t)
	if r.Error != login.ErrAccessDenied {
		t.Fatalf("deny: %+v", r)
	}
	if _, err := e.dir.GetConsent(context.Background(), "u-alice", "wiki"); err == nil {
		t.Fatal("a denial was stored as consent")
	}
	// A flow that ends in a refusal makes no session: a step that refuses
	// may come before every factor was given.
	if b.get("/test/whoami").status != http.StatusUnauthorized {
		t.Fatal("a refused flow made a session")
	}
}

func TestNoConsentForFirstParty(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	r := b.signIn("rp=portal", "alice@acme.example", goodPassword).result(t)
	if r.Error != "" || slices.Contains(b.visits, "/login/consent") {
		t.Fatalf("first party: %+v, visits %v", r, b.visits)
	}
}
