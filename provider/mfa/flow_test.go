package mfa_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/storage"
)

var (
	amrFull    = []string{"pwd", "otp", "mfa"}
	amrPwd     = []string{"pwd"}
	amrPasskey = []string{"pwd", "hwk", "mfa"}
)

func TestCoManagingEnrolsThenIsAsked(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()

	// First sign-in: the enrolment page, with a QR code and an otpauth link.
	p := b.signIn("", "carol@acme.example")
	if !p.is(enrolPath, http.StatusOK) {
		t.Fatalf("first sign-in went to %d %s", p.status, p.url)
	}
	for _, want := range []string{`src="data:image/png;base64,`, `href="otpauth://totp/Gatehouse:carol@customer.example?`, `name="code"`, `name="csrf_token"`, `src="/static/webauthn.js"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("enrolment page lacks %s", want)
		}
	}
	if strings.Contains(p.body, "<script>") || strings.Contains(p.body, "style=") {
		t.Error("inline script or style on the enrolment page")
	}
	secret := totpSecret(t, p)
	if again := b.get(p.url.RequestURI()); totpSecret(t, again) != secret {
		t.Fatal("reloading the enrolment page changed the secret")
	}

	// A wrong code is refused, and not counted: the secret is brand new.
	wrong := b.submit(p, map[string]string{"code": "000000"})
	if wrong.status != http.StatusBadRequest || wrong.errorText() != textBadEnrolCode {
		t.Fatalf("wrong enrolment code: %d %q", wrong.status, wrong.errorText())
	}
	if e.failuresFor("u-carol") != 0 {
		t.Fatal("an enrolment code counted toward the lockout")
	}
	code := e.code(secret)
	p = b.submit(wrong, map[string]string{"code": code})
	codes := recoveryCodes(t, p)
	r := b.submit(p, nil).result(t)
	if r.UserID != "u-carol" || !slices.Equal(r.AMR, amrFull) || r.ACR != "mfa" || r.MFAPaused {
		t.Fatalf("after enrolment: %+v", r)
	}
	if who := b.get("/test/whoami"); !strings.Contains(who.body, `"acr":"mfa"`) || !strings.Contains(who.body, `"amr":["pwd","otp","mfa"]`) {
		t.Fatalf("session: %s", who.body)
	}

	// The secret is sealed at rest, in the seed file's encoding.
	fs := e.factors("u-carol", storage.FactorTOTP)
	if len(fs) != 1 || strings.Contains(string(fs[0].Secret), secret) {
		t.Fatalf("stored TOTP factors: %+v", fs)
	}
	if plain, err := e.box.Open(fs[0].Secret); err != nil || string(plain) != secret {
		t.Fatalf("sealed secret opens to %q, %v", plain, err)
	}
	if got := e.factors("u-carol", storage.FactorRecovery); len(got) != 10 || strings.Contains(string(got[0].Secret), strings.ReplaceAll(codes[0], "-", "")) {
		t.Fatalf("recovery codes stored: %d", len(got))
	}

	// The next sign-in asks for a code.
	b2 := e.browser()
	p = b2.signIn("", "carol@acme.example")
	if !p.is(challengePath, http.StatusOK) || !strings.Contains(p.body, `name="code"`) {
		t.Fatalf("second sign-in went to %d %s", p.status, p.url)
	}
	// A wrong code, a malformed one and the one already used in this time
	// step all get the same answer, and all count.
	for i, bad := range []string{"123456", "12345", "not a code", code} {
		p = b2.submit(p, map[string]string{"code": bad})
		if p.status != http.StatusUnauthorized || p.errorText() != textBadCode {
			t.Fatalf("code %q: %d %q", bad, p.status, p.errorText())
		}
		if n := e.failuresFor("u-carol"); n != i+1 {
			t.Fatalf("code %q: OnFailure called %d times", bad, n)
		}
	}
	e.clock.Advance(30 * time.Second)
	next := e.code(secret)
	r2 := b2.submit(p, map[string]string{"code": next}).result(t)
	if !slices.Equal(r2.AMR, amrFull) || r2.ACR != "mfa" {
		t.Fatalf("second sign-in: %+v", r2)
	}
	// The same code from another browser within its step: refused.
	b3 := e.browser()
	p = b3.signIn("", "carol@acme.example")
	if p = b3.submit(p, map[string]string{"code": next}); p.errorText() != textBadCode {
		t.Fatalf("reused code: %d %q", p.status, p.errorText())
	}
	// A code one step old is still accepted (clock skew).
	e.clock.Advance(30 * time.Second)
	prev := e.code(secret)
	e.clock.Advance(30 * time.Second)
	if r := b3.submit(p, map[string]string{"code": prev}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("one step of skew: %+v", r)
	}
	// SSO: the session already has a second factor.
	if r := b2.get("/test/begin?rp=other&mfa").result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("SSO with mfa: %+v", r)
	}
}

func TestRecoveryCodeWorksOnce(t *testing.T) {
	e := newEnv(t, options{})
	_, codes, _ := e.browser().enrolTOTP("", "carol@acme.example")

	b := e.browser()
	p := b.signIn("", "carol@acme.example")
	// Typed loosely: upper case, spaces, the dash left out.
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	r := b.submit(p, map[string]string{"code": typed}).result(t)
	if !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("recovery code: %+v", r)
	}
	if n := len(e.factors("u-carol", storage.FactorRecovery)); n != 9 {
		t.Fatalf("%d recovery codes left", n)
	}
	b2 := e.browser()
	p = b2.signIn("", "carol@acme.example")
	p = b2.submit(p, map[string]string{"code": codes[3]})
	if p.status != http.StatusUnauthorized || p.errorText() != textBadCode {
		t.Fatalf("used recovery code: %d %q", p.status, p.errorText())
	}
	if r := b2.submit(p, map[string]string{"code": codes[4]}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("another recovery code: %+v", r)
	}
}

func TestPauseNextLogin(t *testing.T) {
	e := newEnv(t, options{})
	secret, _, _ := e.browser().enrolTOTP("", "carol@acme.example")
	e.updateUser("u-carol", func(u *storage.User) { u.MFAPauseNextLogin, u.MFAPauseReason = true, "lost phone" })

	// A relying party's acr_values=mfa is not skipped, and the pause is
	// kept for a sign-in it does skip.
	b0 := e.browser()
	if p := b0.signIn("mfa", "carol@acme.example"); !p.is(challengePath, http.StatusOK) {
		t.Fatalf("acr_values=mfa through a pause went to %d %s", p.status, p.url)
	}
	if !e.user("u-carol").MFAPauseNextLogin {
		t.Fatal("a pause that skipped nothing was used up")
	}

	b := e.browser()
	r := b.signIn("", "carol@acme.example").result(t)
	if !slices.Equal(r.AMR, amrPwd) || r.ACR != "pwd" || !r.MFAPaused {
		t.Fatalf("paused sign-in: %+v", r)
	}
	if u := e.user("u-carol"); u.MFAPauseNextLogin {
		t.Fatal("the next-login pause was not used up")
	}
	// The session that sign-in started stays paused for other services...
	if r := b.get("/test/begin?rp=wiki").result(t); r.Error != "" || !slices.Equal(r.AMR, amrPwd) || !r.MFAPaused {
		t.Fatalf("SSO after a paused sign-in: %+v", r)
	}
	// ...but not for one that asks for a factor,
	p := b.get("/test/begin?rp=bank&mfa")
	if !p.is(challengePath, http.StatusOK) {
		t.Fatalf("step-up after a paused sign-in went to %d %s", p.status, p.url)
	}
	e.clock.Advance(30 * time.Second)
	if r := b.submit(p, map[string]string{"code": e.code(secret)}).result(t); !slices.Equal(r.AMR, amrFull) || r.MFAPaused {
		t.Fatalf("step-up: %+v", r)
	}
	// ...and the next fresh sign-in is asked again.
	if p := e.browser().signIn("", "carol@acme.example"); !p.is(challengePath, http.StatusOK) {
		t.Fatalf("sign-in after the pause went to %d %s", p.status, p.url)
	}
	if p := b.get("/test/begin?force"); p.url.Path != "/login" {
		t.Fatalf("forced sign-in: %s", p.url)
	}
}

func TestPause24Hours(t *testing.T) {
	e := newEnv(t, options{})
	secret, _, _ := e.browser().enrolTOTP("", "carol@acme.example")
	e.updateUser("u-carol", func(u *storage.User) { u.MFAPauseUntil = e.clock.Now().Add(24 * time.Hour) })

	for i := 0; i < 2; i++ {
		r := e.browser().signIn("", "carol@acme.example").result(t)
		if !slices.Equal(r.AMR, amrPwd) || !r.MFAPaused || r.ACR != "pwd" {
			t.Fatalf("sign-in %d in the pause: %+v", i, r)
		}
		e.clock.Advance(time.Hour)
	}
	if e.user("u-carol").MFAPauseUntil.IsZero() {
		t.Fatal("a timed pause was cleared by a sign-in")
	}
	if p := e.browser().signIn("mfa", "carol@acme.example"); !p.is(challengePath, http.StatusOK) {
		t.Fatalf("acr_values=mfa in a timed pause went to %d %s", p.status, p.url)
	}
	e.clock.Advance(22*time.Hour + time.Second)
	b := e.browser()
	p := b.signIn("", "carol@acme.example")
	if !p.is(challengePath, http.StatusOK) {
		t.Fatalf("after the pause went to %d %s", p.status, p.url)
	}
	if r := b.submit(p, map[string]string{"code": e.code(secret)}).result(t); !slices.Equal(r.AMR, amrFull) || r.MFAPaused {
		t.Fatalf("after the pause: %+v", r)
	}
}

func TestAdminResetForcesEnrolment(t *testing.T) {
	e := newEnv(t, options{})
	e.browser().enrolTOTP("", "carol@acme.example")
	if _, err := e.dir.DeleteFactors(context.Background(), "u-carol"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	_, _, r := e.browser().enrolTOTP("", "carol@acme.example")
	if !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("re-enrolment: %+v", r)
	}
}

func TestPartnerRequireMFA(t *testing.T) {
	e := newEnv(t, options{})
	secret, _, r := e.browser().enrolTOTP("", "sam@strict.example")
	if !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("sam: %+v", r)
	}
	// Without require_mfa, a user who enrolled a factor is still asked.
	if _, err := e.dir.UpdatePartner(context.Background(), "strict", func(p storage.Partner) (storage.Partner, error) {
		p.RequireMFA = false
		return p, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	b := e.browser()
	p := b.signIn("", "sam@strict.example")
	if !p.is(challengePath, http.StatusOK) {
		t.Fatalf("enrolled optional user went to %d %s", p.status, p.url)
	}
	if r := b.submit(p, map[string]string{"code": e.code(secret)}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("optional factor: %+v", r)
	}
	// A partner's pause covers an optional factor too.
	e.updateUser("u-sam", func(u *storage.User) { u.MFAPauseNextLogin = true })
	if r := e.browser().signIn("", "sam@strict.example").result(t); !slices.Equal(r.AMR, amrPwd) || !r.MFAPaused {
		t.Fatalf("paused optional factor: %+v", r)
	}
	if e.user("u-sam").MFAPauseNextLogin {
		t.Fatal("the pause was not used up")
	}
}

func TestOptionalUserAndRelyingPartyDemand(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	r := b.signIn("", "alice@acme.example").result(t)
	if !slices.Equal(r.AMR, amrPwd) || r.ACR != "pwd" || r.MFAPaused {
		t.Fatalf("optional user: %+v", r)
	}
	// SSO to another service: still nothing asked.
	if r := b.get("/test/begin?rp=wiki").result(t); !slices.Equal(r.AMR, amrPwd) {
		t.Fatalf("SSO: %+v", r)
	}
	// acr_values=mfa with no factor: enrol now, on the session.
	p := b.get("/test/begin?rp=bank&mfa")
	if !p.is(enrolPath, http.StatusOK) {
		t.Fatalf("acr_values=mfa without a factor went to %d %s", p.status, p.url)
	}
	secret := totpSecret(t, p)
	p = b.submit(p, map[string]string{"code": e.code(secret)})
	recoveryCodes(t, p)
	if r := b.submit(p, nil).result(t); !slices.Equal(r.AMR, amrFull) || r.ACR != "mfa" {
		t.Fatalf("after enrolling for acr_values=mfa: %+v", r)
	}
	// Passive flows needing a page end with interaction_required.
	if r := e.browser().get("/test/begin?mfa&passive").result(t); r.Error != "login_required" {
		t.Fatalf("passive without session: %+v", r)
	}
}

func TestFederatedSignInAsksNothing(t *testing.T) {
	e := newEnv(t, options{})
	for _, q := range []string{"", "mfa"} {
		b := e.browser()
		r := b.signIn(q, "erin@acme.example").result(t)
		if !slices.Equal(r.AMR, []string{"fed"}) || r.ACR != "fed" || r.MFAPaused {
			t.Fatalf("federated sign-in (%q): %+v", q, r)
		}
		if slices.Contains(b.visits, challengePath) || slices.Contains(b.visits, enrolPath) {
			t.Fatalf("a federated sign-in saw a factor page: %v", b.visits)
		}
	}
}

func TestWrongCodesLockTheAccount(t *testing.T) {
	e := newEnv(t, options{lockout: 3, noOnFailure: true})
	secret, _, _ := e.browser().enrolTOTP("", "carol@acme.example")
	e.clock.Advance(30 * time.Second)
	b := e.browser()
	p := b.signIn("", "carol@acme.example")
	for i := 0; i < 2; i++ {
		if p = b.submit(p, map[string]string{"code": "999999"}); p.errorText() != textBadCode {
			t.Fatalf("wrong code %d: %q", i, p.errorText())
		}
	}
	prev := p
	p = b.submit(p, map[string]string{"code": "999999"})
	if p.status != http.StatusForbidden || p.errorText() != textLocked || !e.user("u-carol").Locked(e.clock.Now()) {
		t.Fatalf("third wrong code: %d %q", p.status, p.errorText())
	}
	// Locked: even the right code is refused.
	p = b.post(challengePath, formOf(prev, map[string]string{"code": e.code(secret)}))
	if p.status != http.StatusForbidden || p.errorText() != textLocked {
		t.Fatalf("right code while locked: %d %q", p.status, p.errorText())
	}
}

// A right code after wrong ones starts the count again.
func TestRightCodeResetsTheCount(t *testing.T) {
	e := newEnv(t, options{lockout: 3, noOnFailure: true})
	secret, _, _ := e.browser().enrolTOTP("", "carol@acme.example")
	for round := 0; round < 2; round++ {
		e.clock.Advance(30 * time.Second)
		b := e.browser()
		p := b.signIn("", "carol@acme.example")
		p = b.submit(p, map[string]string{"code": "999999"})
		p = b.submit(p, map[string]string{"code": "999999"})
		if r := b.submit(p, map[string]string{"code": e.code(secret)}).result(t); !slices.Equal(r.AMR, amrFull) {
			t.Fatalf("round %d: %+v", round, r)
		}
	}
	if e.user("u-carol").Locked(e.clock.Now()) {
		t.Fatal("locked by failures a success came between")
	}
}

// formOf is the hidden fields of the page's first form plus fields, for a
// form the page does not show any more.
func formOf(p page, fields map[string]string) map[string][]string {
	form := map[string][]string{}
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form[h[1]] = []string{h[2]}
	}
	for k, v := range fields {
		form[k] = []string{v}
	}
	return form
}

func TestDeactivatedWhileSigningIn(t *testing.T) {
	e := newEnv(t, options{})
	secret, _, _ := e.browser().enrolTOTP("", "carol@acme.example")
	e.clock.Advance(30 * time.Second)
	b := e.browser()
	p := b.signIn("", "carol@acme.example")
	e.updateUser("u-carol", func(u *storage.User) { u.Active = false })
	if r := b.submit(p, map[string]string{"code": e.code(secret)}).result(t); r.Error != "access_denied" || r.SessionID != "" {
		t.Fatalf("deactivated mid-sign-in: %+v", r)
	}
}

// A next-login pause skips the factor for exactly one of several sign-ins
// racing for it.
func TestNextLoginPauseUsedOnce(t *testing.T) {
	e := newEnv(t, options{})
	e.browser().enrolTOTP("", "carol@acme.example")
	e.updateUser("u-carol", func(u *storage.User) { u.MFAPauseNextLogin = true })
	const n = 5
	pages := make([]page, n)
	browsers := make([]*browser, n)
	for i := range browsers {
		browsers[i] = e.browser()
		pages[i] = browsers[i].get("/test/begin")
	}
	var wg sync.WaitGroup
	for i := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pages[i] = browsers[i].submit(pages[i], map[string]string{"username": "carol@acme.example", "password": goodPassword})
		}()
	}
	wg.Wait()
	paused, asked := 0, 0
	for _, p := range pages {
		switch {
		case p.url.Path == "/test/return":
			if r := p.result(t); r.MFAPaused && slices.Equal(r.AMR, amrPwd) {
				paused++
			}
		case p.is(challengePath, http.StatusOK):
			asked++
		}
	}
	if paused != 1 || asked != n-1 {
		t.Fatalf("%d sign-ins paused, %d asked", paused, asked)
	}
}
