package mfa_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/storage"
)

// addPhone adds a phone for text-message codes from the account page.
func (b *browser) addPhone(typed string) smsMessage {
	b.t.Helper()
	p := b.get("/account/security")
	p = b.submit(p, map[string]string{"phone": typed}, "/account/security/sms")
	if !p.is("/account/security/sms", http.StatusOK) || !strings.Contains(p.body, `name="code"`) {
		b.t.Fatalf("after asking for a code: %d %s\n%s", p.status, p.url, p.body)
	}
	m := b.e.nextSMS()
	p = b.submit(p, map[string]string{"code": m.Code})
	recoveryCodes(b.t, p)
	return m
}

func TestSMSCodes(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	b.signIn("", "alice@acme.example").result(t)

	page := b.get("/account/security")
	if !strings.Contains(page.body, "We recommend an authenticator app or a passkey") || !strings.Contains(page.body, `value="&#43;15555550100"`) {
		t.Fatal("the security page does not recommend TOTP and passkeys, or does not offer the user's phone")
	}
	// Numbers must be E.164.
	for _, bad := range []string{"5555550100", "+0555550100", "+1 555", "phone"} {
		p := b.submit(page, map[string]string{"phone": bad}, "/account/security/sms")
		if p.status != http.StatusBadRequest || !strings.HasPrefix(p.errorText(), "phone:") {
			t.Fatalf("phone %q: %d %q", bad, p.status, p.errorText())
		}
	}
	m := b.addPhone("+1 (555) 555-0100")
	if m.To != "+15555550100" || len(m.Code) != 6 || !strings.Contains(m.Message, m.Code) {
		t.Fatalf("gateway got %+v", m)
	}
	fs := e.factors("u-alice", storage.FactorSMS)
	if len(fs) != 1 || string(fs[0].Secret) != "+15555550100" || strings.Contains(fs[0].Name, "555555") {
		t.Fatalf("stored phone factor: %+v", fs)
	}

	// Sign in: ask for a text, enter its code.
	b2 := e.browser()
	p := b2.signIn("", "alice@acme.example")
	if !p.is(challengePath, http.StatusOK) || !strings.Contains(p.body, `name="send_sms"`) {
		t.Fatalf("second-factor page: %d %s", p.status, p.url)
	}
	p = b2.submit(p, map[string]string{"send_sms": "1"})
	if p.status != http.StatusOK || !strings.Contains(p.body, "We sent a code to") {
		t.Fatalf("send: %d %s", p.status, p.body)
	}
	m = e.nextSMS()
	if m.To != "+15555550100" {
		t.Fatalf("sent to %q", m.To)
	}
	if r := b2.submit(p, map[string]string{"code": m.Code}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("SMS sign-in: %+v", r)
	}

	// A used code and an expired one are refused like any wrong code.
	b3 := e.browser()
	p = b3.signIn("", "alice@acme.example")
	if p = b3.submit(p, map[string]string{"code": m.Code}); p.errorText() != textBadCode {
		t.Fatalf("used SMS code: %q", p.errorText())
	}
	p = b3.submit(p, map[string]string{"send_sms": "1"})
	m = e.nextSMS()
	e.clock.Advance(5*time.Minute + time.Second)
	if p = b3.submit(p, map[string]string{"code": m.Code}); p.errorText() != textBadCode {
		t.Fatalf("expired SMS code: %q", p.errorText())
	}
	if n := e.failuresFor("u-alice"); n != 2 {
		t.Fatalf("OnFailure called %d times", n)
	}
	// Three sends in ten minutes, no more (the enrolment's text counts).
	p = b3.submit(p, map[string]string{"send_sms": "1"})
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("fourth text: %d", p.status)
	}
	e.clock.Advance(10 * time.Minute)
	p = b3.submit(p, map[string]string{"send_sms": "1"})
	if p.status != http.StatusOK {
		t.Fatalf("after the window: %d", p.status)
	}
	if r := b3.submit(p, map[string]string{"code": e.nextSMS().Code}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("SMS sign-in: %+v", r)
	}
}

func TestSMSOff(t *testing.T) {
	e := newEnv(t, options{noSMS: true})
	b := e.browser()
	b.signIn("", "alice@acme.example").result(t)
	p := b.get("/account/security")
	if strings.Contains(p.body, "/account/security/sms") {
		t.Fatal("the page offers text messages with SMS off")
	}
	if p := b.post("/account/security/sms", nil); p.status != http.StatusNotFound {
		t.Fatalf("POST /account/security/sms with SMS off: %d", p.status)
	}
}
