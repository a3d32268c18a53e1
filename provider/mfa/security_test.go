package mfa_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/storage"
)

func TestSecurityPageNeedsASession(t *testing.T) {
	e := newEnv(t, options{})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(e.srv.URL + "/account/security")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?return_to=%2Faccount%2Fsecurity" {
		t.Fatalf("signed out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	for _, path := range []string{"/account/security/remove", "/account/security/recovery", "/account/security/totp"} {
		res, err := c.PostForm(e.srv.URL+path, url.Values{"factor": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s signed out: %d", path, res.StatusCode)
		}
	}

	// Signing in from there comes back to the page.
	b := e.browser()
	p := b.get("/account/security")
	p = b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword})
	if !p.is("/account/security", http.StatusOK) || !strings.Contains(p.body, "Sign-in security") {
		t.Fatalf("after signing in: %d %s", p.status, p.url)
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(p.body, "<script>") {
		t.Fatalf("page headers: %q", csp)
	}
	// Every form carries the CSRF token, and a post without it is refused.
	if n, m := strings.Count(p.body, `<form method="post"`), strings.Count(p.body, `name="csrf_token"`); n == 0 || n != m {
		t.Fatalf("%d forms, %d CSRF tokens", n, m)
	}
	if got := b.submit(p, map[string]string{"csrf_token": "\x00"}, "/account/security/webauthn"); got.status != http.StatusForbidden {
		t.Fatalf("without csrf_token: %d", got.status)
	}
}

// addTOTP adds an authenticator app from the account page.
func (b *browser) addTOTP(name string) (secret string, done page) {
	b.t.Helper()
	p := b.get("/account/security/totp")
	if !p.is("/account/security/totp", http.StatusOK) || !strings.Contains(p.body, `src="data:image/png;base64,`) {
		b.t.Fatalf("add TOTP page: %d %s", p.status, p.url)
	}
	secret = totpSecret(b.t, p)
	if wrong := b.submit(p, map[string]string{"code": "000000", "name": name}); wrong.status != http.StatusBadRequest || wrong.errorText() != textBadEnrolCode || totpSecret(b.t, wrong) != secret {
		b.t.Fatalf("wrong code: %d %q", wrong.status, wrong.errorText())
	}
	return secret, b.submit(p, map[string]string{"code": b.e.code(secret), "name": name})
}

func TestRemovingFactors(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	_, codes, _ := b.enrolTOTP("", "carol@acme.example")
	first := e.factors("u-carol", storage.FactorTOTP)[0]

	// Required, and the last one: no Remove button, and a post is refused.
	p := b.get("/account/security")
	if strings.Contains(p.body, `name="factor"`) || !strings.Contains(p.body, "must use a second factor") {
		t.Fatal("the only mandatory factor is offered for removal")
	}
	got := b.post("/account/security/remove", url.Values{"csrf_token": {hiddenValue(t, p, "csrf_token")}, "factor": {first.ID}})
	if got.status != http.StatusConflict || len(e.factors("u-carol", storage.FactorTOTP)) != 1 {
		t.Fatalf("removing the last mandatory factor: %d %q", got.status, got.errorText())
	}

	// A second app: now either may go.
	e.clock.Advance(30 * time.Second)
	_, done := b.addTOTP("Work phone")
	if !done.is("/account/security", http.StatusOK) || !strings.Contains(done.body, "Your authenticator app is set up.") || !strings.Contains(done.body, "Work phone") {
		t.Fatalf("after adding: %d %s", done.status, done.url)
	}
	got = b.submit(done, map[string]string{"factor": first.ID}, "/account/security/remove")
	if !got.is("/account/security", http.StatusOK) || !strings.Contains(got.body, "The factor was removed.") {
		t.Fatalf("removing one of two: %d %s %q", got.status, got.url, got.errorText())
	}
	if fs := e.factors("u-carol", storage.FactorTOTP); len(fs) != 1 || fs[0].Name != "Work phone" {
		t.Fatalf("left: %+v", fs)
	}
	// Recovery codes survive while a factor remains.
	if n := len(e.factors("u-carol", storage.FactorRecovery)); n != len(codes) {
		t.Fatalf("%d recovery codes", n)
	}

	// Another user's factor looks like no factor.
	other := e.browser()
	other.signIn("", "alice@acme.example").result(t)
	op := other.get("/account/security")
	left := e.factors("u-carol", storage.FactorTOTP)[0]
	if got := other.post("/account/security/remove", url.Values{"csrf_token": {hiddenValue(t, op, "csrf_token")}, "factor": {left.ID}}); got.status != http.StatusNotFound {
		t.Fatalf("removing another user's factor: %d", got.status)
	}
}

func TestOptionalFactorRemovedWithItsRecoveryCodes(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	b.signIn("", "alice@acme.example").result(t)
	_, done := b.addTOTP("")
	recoveryCodes(t, done) // first factor: codes shown once
	f := e.factors("u-alice", storage.FactorTOTP)[0]
	if f.Name != "Authenticator app" {
		t.Fatalf("default name %q", f.Name)
	}
	p := b.get("/account/security")
	p = b.submit(p, map[string]string{"factor": f.ID}, "/account/security/remove")
	if p.url.Path != "/account/security" || len(e.factors("u-alice", "")) != 0 {
		t.Fatalf("after removing the only optional factor: %s, %d factors left", p.url, len(e.factors("u-alice", "")))
	}
	if r := e.browser().signIn("", "alice@acme.example").result(t); !slices.Equal(r.AMR, amrPwd) {
		t.Fatalf("sign-in without factors: %+v", r)
	}
}

func TestRegeneratingRecoveryCodes(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	_, old, _ := b.enrolTOTP("", "carol@acme.example")
	p := b.get("/account/security")
	if !strings.Contains(p.body, "You have 10 unused recovery codes") {
		t.Fatal("the page does not count the recovery codes")
	}
	p = b.submit(p, nil, "/account/security/recovery")
	fresh := recoveryCodes(t, p)
	if slices.Equal(fresh, old) || len(e.factors("u-carol", storage.FactorRecovery)) != 10 {
		t.Fatal("the codes were not replaced")
	}
	// Shown once: the page does not show them again.
	if p := b.get("/account/security"); strings.Contains(p.body, fresh[0]) {
		t.Fatal("recovery codes shown twice")
	}
	b2 := e.browser()
	p = b2.signIn("", "carol@acme.example")
	if p = b2.submit(p, map[string]string{"code": old[0]}); p.errorText() != textBadCode {
		t.Fatalf("an old code: %q", p.errorText())
	}
	if r := b2.submit(p, map[string]string{"code": fresh[0]}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("a new code: %+v", r)
	}
	// Without a factor there is nothing to back up.
	if _, err := e.dir.DeleteFactors(context.Background(), "u-alice"); err != nil {
		t.Fatal(err)
	}
	b3 := e.browser()
	b3.signIn("", "alice@acme.example").result(t)
	p = b3.get("/account/security")
	if p := b3.post("/account/security/recovery", url.Values{"csrf_token": {hiddenValue(t, p, "csrf_token")}}); p.status != http.StatusBadRequest {
		t.Fatalf("recovery codes without a factor: %d", p.status)
	}
}
