package account_test

import (
	"net/url"
	"strings"
	"testing"

	"gatehouse/storage"
)

func TestAccountNeedsASession(t *testing.T) {
	e := newEnv(t)
	br := e.browser()
	p := br.get("/account")
	if p.status != 303 || p.location != "/login?return_to=/account" {
		t.Errorf("GET /account signed out: %d %q", p.status, p.location)
	}
	p = br.post("/account", url.Values{"current_password": {"x"}})
	if p.status != 303 || p.location != "/login?return_to=/account" {
		t.Errorf("POST /account signed out: %d %q", p.status, p.location)
	}
	// A session of a user who no longer exists is no session.
	br.signIn("u-gone", "s1")
	if p := br.get("/account"); p.status != 303 {
		t.Errorf("deleted user: %d", p.status)
	}
}

func TestAccountPage(t *testing.T) {
	e := newEnv(t)
	u := e.user("ada@acme.example", func(u *storage.User) { withPassword(goodPassword)(u); u.Name = "Ada <Admin>"; u.Role = "admin" })
	br := e.browser()
	br.signIn(u.ID, "sess-1")
	p := br.get("/account")
	p.has(t, 200, "Ada <Admin>", "ada@acme.example", "admin", `href="https://academy.example/"`, "Academy",
		`name="current_password"`, `name="password"`, `name="password_confirm"`, `name="csrf_token"`,
		`href="/account/security"`)
}

func TestAccountPasswordChange(t *testing.T) {
	e := newEnv(t)
	u := e.user("bo@acme.example", withPassword(goodPassword))
	br := e.browser()
	br.signIn(u.ID, "sess-1")
	form := br.get("/account").hidden()

	change := func(current, pw, confirm string) page {
		f := url.Values{"current_password": {current}, "password": {pw}, "password_confirm": {confirm}}
		f.Set("csrf_token", form.Get("csrf_token"))
		return br.post("/account", f)
	}
	const next = "orchid-lantern-77"
	change("wrong-password-entirely", next, next).has(t, 400, "current_password: the current password is wrong")
	change("", next, next).has(t, 400, "current_password: enter")
	change(goodPassword, "tiny", "tiny").has(t, 400, "password: must be at least 12 characters")
	change(goodPassword, next, next+"!").has(t, 400, "password_confirm")
	change(goodPassword, goodPassword, goodPassword).has(t, 400, "different from the current one")
	if !e.passwordIs(u.ID, goodPassword) || len(e.ended.Calls()) != 0 {
		t.Fatal("a refused change changed something")
	}
	br.post("/account", url.Values{"current_password": {goodPassword}, "password": {next}, "password_confirm": {next}, "csrf_token": {"forged"}}).has(t, 403)

	p := change(goodPassword, next, next)
	if p.status != 303 || p.location != "/account?changed=password" {
		t.Fatalf("change: %d %q\n%s", p.status, p.location, p.body)
	}
	if !e.passwordIs(u.ID, next) {
		t.Error("password not changed")
	}
	if calls := e.ended.Calls(); len(calls) != 1 || calls[0] != [2]string{u.ID, "sess-1"} {
		t.Errorf("EndSessions calls %v, want the other sessions of %s (all but sess-1)", calls, u.ID)
	}
	br.get(p.location).has(t, 200, "Your password was changed")
	if m := e.inbox.WaitFor(t, "bo@acme.example"); !strings.Contains(m.Subject, "password was changed") {
		t.Errorf("notice subject %q", m.Subject)
	}
}

func TestAccountSSOUserHasNoPasswordForm(t *testing.T) {
	e := newEnv(t)
	u := e.user("fed@acme.example", func(u *storage.User) { u.SSO = true })
	br := e.browser()
	br.signIn(u.ID, "s")
	p := br.get("/account")
	p.has(t, 200, "company's account")
	p.lacks(t, `name="current_password"`)
	br.post("/account", url.Values{"current_password": {"x"}, "password": {goodPassword}, "password_confirm": {goodPassword}}).has(t, 400, "no password here")
}

func TestAccountPasswordChangeRateLimit(t *testing.T) {
	e := newEnv(t)
	u := e.user("rl@acme.example", withPassword(goodPassword))
	br := e.browser()
	br.signIn(u.ID, "s")
	for i := range 5 {
		p := br.post("/account", url.Values{"current_password": {"guess-number-" + string(rune('a'+i))}, "password": {"orchid-lantern-77"}, "password_confirm": {"orchid-lantern-77"}})
		p.has(t, 400, "current password is wrong")
	}
	br.post("/account", url.Values{"current_password": {goodPassword}, "password": {"orchid-lantern-77"}, "password_confirm": {"orchid-lantern-77"}}).has(t, 429)
	if !e.passwordIs(u.ID, goodPassword) {
		t.Error("password changed past the limit")
	}
}
