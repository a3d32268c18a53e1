package login_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/provider/login"
)

const expiredText = "This sign-in has expired. Go back to the application and start again."

func isExpiredPage(p page) bool {
	return p.status == http.StatusBadRequest && strings.Contains(p.body, expiredText)
}

func TestFlowFromAnotherBrowser(t *testing.T) {
	e := newEnv(t, nil)
	victim := e.browser()
	p := victim.get("/test/begin")
	id := p.flowID()
	if id == "" {
		t.Fatal("no flow on the page")
	}
	thief := e.browser()
	if got := thief.get("/login?flow=" + id); !isExpiredPage(got) {
		t.Fatalf("GET from another browser: %d %s", got.status, got.url)
	}
	// Posting with the thief's own CSRF token still fails on the binding.
	own := thief.get("/login")
	form := url.Values{"flow": {id}, "csrf_token": {hiddenValue(own, "csrf_token")}, "username": {"alice@acme.example"}, "password": {goodPassword}}
	if got := thief.post("/login", form); !isExpiredPage(got) {
		t.Fatalf("POST from another browser: %d", got.status)
	}
	// The victim finishes; the thief cannot take the finished flow.
	r := victim.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword})
	if r.result(t).UserID != "u-alice" {
		t.Fatal("victim could not sign in")
	}
	if got := thief.get("/test/return?flow=" + id); !isExpiredPage(got) {
		t.Fatalf("Finish from another browser: %d", got.status)
	}
}

func TestFinishIsSingleUse(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.signIn("", "alice@acme.example", goodPassword)
	p.result(t)
	if again := b.get(p.url.RequestURI()); !isExpiredPage(again) {
		t.Fatalf("second Finish: %d %s", again.status, again.body)
	}
}

func TestFinishBeforeDone(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.get("/test/begin")
	early := b.get("/test/return?flow=" + p.flowID())
	if early.status != http.StatusBadRequest || !strings.Contains(early.body, "not finished") {
		t.Fatalf("early Finish: %d", early.status)
	}
	// It was left in place: the sign-in goes on.
	if r := b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword}).result(t); r.UserID != "u-alice" {
		t.Fatalf("after early Finish: %+v", r)
	}
}

func TestExpiredFlow(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.get("/test/begin")
	e.clock.Advance(login.DefaultFlowTTL + time.Second)
	if got := b.get("/login?flow=" + p.flowID()); !isExpiredPage(got) {
		t.Fatalf("GET: %d %s", got.status, got.body)
	}
	if got := b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword}); !isExpiredPage(got) {
		t.Fatalf("POST: %d", got.status)
	}
	for _, bad := range []string{"nope", strings.Repeat("x", 500), "../../etc", "%00"} {
		if got := b.get("/login?flow=" + url.QueryEscape(bad)); !isExpiredPage(got) {
			t.Fatalf("flow=%q: %d", bad, got.status)
		}
		if got := b.get("/test/return?flow=" + url.QueryEscape(bad)); !isExpiredPage(got) {
			t.Fatalf("Finish flow=%q: %d", bad, got.status)
		}
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.get("/test/begin")
	for name, token := range map[string]string{"missing": "\x00", "wrong": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		got := b.submit(p, map[string]string{"csrf_token": token, "username": "alice@acme.example", "password": goodPassword})
		if got.status != http.StatusForbidden || !strings.Contains(got.body, "csrf_token") {
			t.Fatalf("%s token: %d", name, got.status)
		}
	}
	if b.get("/test/whoami").status != http.StatusUnauthorized {
		t.Fatal("signed in without a CSRF token")
	}
}

func TestUnknownStepPage(t *testing.T) {
	e := newEnv(t, nil)
	if got := e.browser().get("/login/nothing-here"); got.status != http.StatusNotFound {
		t.Fatalf("unknown step: %d", got.status)
	}
}

// A later step cannot be reached before its turn: posting consent for a
// flow that has no user yet sends the browser back to the password page.
func TestStepsCannotBeSkipped(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.get("/test/begin?scopes=openid")
	form := url.Values{"flow": {p.flowID()}, "csrf_token": {hiddenValue(p, "csrf_token")}, "consent": {"allow"}}
	got := b.post("/login/consent", form)
	if !isLoginPage(got) {
		t.Fatalf("POST consent before sign-in: %d %s", got.status, got.url)
	}
	if b.get("/test/whoami").status != http.StatusUnauthorized {
		t.Fatal("skipped the password")
	}
}

// An issuer with a path puts every page under it.
func TestIssuerPath(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.Issuer = "http://gatehouse.test/gh/" })
	b := e.browser()
	p := b.get("/test/begin")
	if p.status != http.StatusOK || p.url.Path != "/gh/login" || !strings.Contains(p.body, `action="/gh/login"`) || !strings.Contains(p.body, `href="/gh/login/forgot"`) {
		t.Fatalf("page at %d %s:\n%s", p.status, p.url, p.body)
	}
	r := b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword}).result(t)
	if r.UserID != "u-alice" {
		t.Fatalf("result = %+v", r)
	}
	if got := b.get("/login"); got.status != http.StatusNotFound {
		t.Fatalf("/login outside the issuer path: %d", got.status)
	}
}
