package e2e

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// INTERFACE.md section 5: pages and the names of their form fields.

// ifFormsWith returns the page's forms that have an input named field.
func ifFormsWith(p *page, field string) []form {
	var out []form
	for _, f := range p.Forms {
		if _, ok := f.Fields[field]; ok {
			out = append(out, f)
		}
	}
	return out
}

var ifErrorRe = regexp.MustCompile(`(?s)role="alert"[^>]*>(.*?)</`)

func TestInterfacePages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	extra := ifWriteFile(t, dir, "gamma.yaml", `partners:
  - id: gamma
    name: Gamma MSP
    domain: gamma.example
    primary_email: gina@gamma.example
    require_mfa: true
users:
  - email: gina@gamma.example
    partner: gamma
    kind: employee
    role: owner
    name: Gina Gamma
    password: "gina-marble-orchid-90"
  - email: pat@acme.example
    partner: acme
    kind: employee
    role: business
    name: Pat Password
    password: "pat-first-password-11"
`)
	n := ifStart(t, ifNodeOptions{Extra: []string{"--seed", extra}})
	r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email")
	authURL := func() string {
		return r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	}

	t.Run("sign-in form and failure wording", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		p := b.get(authURL())
		forms := ifFormsWith(p, "username")
		if len(forms) != 1 || !strings.EqualFold(forms[0].Method, "post") {
			t.Fatalf("want one <form method=post> with username: %+v", forms)
		}
		if _, ok := forms[0].Fields["password"]; !ok {
			t.Fatalf("the sign-in form has no password input")
		}
		wrong := b.signIn(b.get(authURL()), ifTech, "not her password")
		unknown := b.signIn(b.get(authURL()), "nobody-here@acme.example", "not her password")
		msg := func(p *page) string {
			m := ifErrorRe.FindStringSubmatch(p.Body)
			if m == nil {
				t.Fatalf("no error shown (%d at %s):\n%s", p.Status, p.URL, p.Body)
			}
			return strings.TrimSpace(m[1])
		}
		a, u := msg(wrong), msg(unknown)
		if a != u {
			t.Errorf("a known user's failure says %q, an unknown user's %q", a, u)
		}
		if !strings.Contains(strings.ToLower(a), "username or password") {
			t.Errorf("the failure says %q, not that the username or password is wrong", a)
		}
		if wrong.Status != unknown.Status {
			t.Errorf("statuses differ: %d and %d", wrong.Status, unknown.Status)
		}
		// An email address is a username in any case.
		ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: strings.ToUpper(ifTech), Pass: ifTechPass})
	})

	t.Run("second factor page", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		p := b.signIn(b.get(authURL()), ifCoManLogin, ifCoManPass)
		if forms := ifFormsWith(p, "code"); len(forms) != 1 {
			t.Fatalf("second-factor page: want one form with code (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
		p = b.submit(p, "code", map[string]string{"code": "000000"})
		if p.Location != nil || !p.hasField("code") {
			t.Fatalf("a wrong code was accepted")
		}
		p = ifFlow(t, b, p, ifSteps{TOTP: ifTOTPSecret})
		if p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Fatalf("the right code did not finish the sign-in (%d at %s)", p.Status, p.URL)
		}
	})

	t.Run("enrolment, recovery code", func(t *testing.T) {
		t.Parallel()
		// Gamma requires a second factor of every user; Gina has none.
		b := newBrowser(t, n.URL)
		p := b.signIn(b.get(authURL()), "gina@gamma.example", "gina-marble-orchid-90")
		m := regexp.MustCompile(`<a href="(otpauth://totp/[^"]+)"`).FindStringSubmatch(p.Body)
		if m == nil || !strings.Contains(p.Body, "<img") || len(ifFormsWith(p, "code")) != 1 {
			t.Fatalf("enrolment page: want a QR code, an otpauth link and one form with code (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
		link, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil {
			t.Fatal(err)
		}
		secret := link.Query().Get("secret")
		p = b.submit(p, "code", map[string]string{"code": ifTOTP(t, secret)})
		codes := regexp.MustCompile(`<code>([^<]+)</code>`).FindAllStringSubmatch(p.Body, -1)
		for i := 0; i < 3 && p.Location == nil && len(p.Forms) == 1; i++ {
			p = b.submit(p, ifFirstField(p.Forms[0]), nil)
		}
		if p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Fatalf("enrolment did not finish the sign-in (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
		if len(codes) == 0 {
			t.Fatalf("no recovery codes were shown after enrolment")
		}
		// Her partner requires a second factor: her only one cannot be
		// removed from her security page.
		if sec := b.get(n.URL + "/account/security"); sec.Status != 200 || sec.URL.Path != "/account/security" || sec.hasField("factor") {
			t.Errorf("the security page of a user whose factor is mandatory offers to remove it (%d at %s)", sec.Status, sec.URL)
		}
		// A recovery code answers the code form.
		b = newBrowser(t, n.URL)
		p = b.signIn(b.get(authURL()), "gina@gamma.example", "gina-marble-orchid-90")
		p = b.submit(p, "code", map[string]string{"code": codes[0][1]})
		if p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Fatalf("a recovery code did not sign in (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
		verifier := oauth2.GenerateVerifier()
		b = newBrowser(t, n.URL)
		p = b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(verifier)))
		p = b.submit(b.signIn(p, "gina@gamma.example", "gina-marble-orchid-90"), "code", map[string]string{"code": codes[1][1]})
		tok, err := r.conf.Exchange(t.Context(), p.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, id := ifJWT(t, tok.Extra("id_token").(string))
		if amr := ifStrs(id["amr"]); !slices.Contains(amr, "otp") || !slices.Contains(amr, "mfa") || id["acr"] != "mfa" {
			t.Errorf("recovery code sign-in: amr %v acr %v", amr, id["acr"])
		}
	})

	t.Run("account password form", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		p := b.signIn(b.get(n.URL+"/account"), "pat@acme.example", "pat-first-password-11")
		forms := ifFormsWith(p, "current_password")
		if len(forms) != 1 {
			t.Fatalf("/account: want one form with current_password (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
		for _, f := range []string{"password", "password_confirm"} {
			if _, ok := forms[0].Fields[f]; !ok {
				t.Fatalf("/account's password form lacks %s", f)
			}
		}
		// No sms.webhook: no text-message factor to add.
		if sec := b.get(n.URL + "/account/security"); sec.URL.Path != "/account/security" || sec.hasField("phone") {
			t.Errorf("the security page offers SMS without an sms.webhook (%d at %s)", sec.Status, sec.URL)
		}
		p = b.submit(p, "current_password", map[string]string{"current_password": "pat-first-password-11",
			"password": "quiet-harbor-second-22", "password_confirm": "quiet-harbor-second-22"})
		if p.Status >= 400 {
			t.Fatalf("password change: %d:\n%s", p.Status, p.Body)
		}
		ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: "pat@acme.example", Pass: "quiet-harbor-second-22"})
		p = newBrowser(t, n.URL).signIn(newBrowser(t, n.URL).get(authURL()), "pat@acme.example", "pat-first-password-11")
		if p.Location != nil {
			t.Fatalf("the old password still signs in")
		}
	})

	t.Run("forgot page", func(t *testing.T) {
		t.Parallel()
		p := newBrowser(t, n.URL).get(n.URL + "/login/forgot")
		if forms := ifFormsWith(p, "username"); len(forms) != 1 || !strings.EqualFold(forms[0].Method, "post") {
			t.Fatalf("/login/forgot: want one post form with username (%d):\n%s", p.Status, p.Body)
		}
	})
}

// ifFirstField names one input of f, for submit to find the form by.
func ifFirstField(f form) string {
	for k := range f.Fields {
		return k
	}
	return ""
}
