package account_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/provider/account"
	"gatehouse/storage"
)

const goodPassword = "plum-kettle-window-42"

func TestInvitation(t *testing.T) {
	for _, b := range []backend{sqliteMemory, postgresRedis} {
		t.Run(b.name, func(t *testing.T) { testInvitation(t, b) })
	}
}

func testInvitation(t *testing.T, b backend) {
	e := newEnvOn(t, b)
	ctx := context.Background()
	u := e.user("nina@acme.example", nil)
	if err := e.h.Invite(ctx, u); err != nil {
		t.Fatalf("Invite: %v", err)
	}

	inv := e.inbox.WaitFor(t, "nina@acme.example")
	link := inv.Link("/invite?token=")
	if link == "" || !strings.HasPrefix(link, e.srv.URL) {
		t.Fatalf("invitation has no link: %q", inv.Text)
	}
	if !strings.Contains(inv.Text, "72 hours") || !strings.Contains(inv.HTML, "token=") {
		t.Errorf("invitation text or HTML incomplete:\n%s", inv.Text)
	}
	// The partner's primary address hears of the account, without the link.
	notice := e.inbox.WaitFor(t, "owner@acme.example")
	token := tokenOf(t, link)
	if strings.Contains(string(notice.Raw), token) || strings.Contains(notice.Text+notice.HTML, "/invite") {
		t.Errorf("the partner's notice carries the invitation link:\n%s", notice.Text)
	}
	if !strings.Contains(notice.Text, "nina@acme.example") {
		t.Errorf("notice does not name the account:\n%s", notice.Text)
	}

	br := e.browser()
	form := br.get(path(t, link))
	form.has(t, 200, `name="password"`, `name="password_confirm"`, "nina@acme.example")
	hidden := form.hidden()
	if hidden.Get("token") != token || hidden.Get("csrf_token") == "" {
		t.Fatalf("form hidden inputs: %v", hidden)
	}
	// Looking at the form does not use the link up.
	br.get(path(t, link)).has(t, 200, `name="password"`)

	submit := func(pw, confirm string) page {
		f := url.Values{"password": {pw}, "password_confirm": {confirm}}
		for k, v := range hidden {
			f[k] = v
		}
		return br.post("/invite", f)
	}
	submit("short", "short").has(t, 400, "password: must be at least 12 characters")
	submit("password1234", "password1234").has(t, 400, "most common passwords")
	submit("nina-likes-2030!", "nina-likes-2030!").has(t, 400, "must not contain your email name")
	submit(goodPassword, goodPassword+"x").has(t, 400, "password_confirm", "differ")
	submit(strings.Repeat("x", 1025), strings.Repeat("x", 1025)).has(t, 400, "at most 1024 bytes")
	if e.get(u.ID).PasswordHash != "" {
		t.Fatal("a refused password was stored")
	}

	submit(goodPassword, goodPassword).has(t, 200, "Password set")
	got := e.get(u.ID)
	if !e.passwordIs(u.ID, goodPassword) || !got.PasswordChangedAt.Equal(e.clock.Now()) {
		t.Errorf("password not stored, or PasswordChangedAt %v", got.PasswordChangedAt)
	}
	if calls := e.ended.Calls(); len(calls) != 1 || calls[0] != [2]string{u.ID, ""} {
		t.Errorf("EndSessions calls %v, want all of %s's sessions", calls, u.ID)
	}
	changed := e.inbox.WaitFor(t, "nina@acme.example")
	if !strings.Contains(changed.Subject, "password was changed") {
		t.Errorf("second mail: %q", changed.Subject)
	}

	// The link worked once.
	br.get(path(t, link)).has(t, 410, "already used")
	submit(goodPassword+"2", goodPassword+"2").has(t, 410, "already used")
	if !e.passwordIs(u.ID, goodPassword) {
		t.Error("reused link changed the password")
	}
	// And the admin cannot resend to a set-up account.
	if err := e.h.ResendInvite(ctx, u); !errors.Is(err, account.ErrAlreadySetUp) {
		t.Errorf("ResendInvite after set-up: %v", err)
	}
}

func TestExpiredInvitationOffersANewOne(t *testing.T) {
	e := newEnv(t)
	u := e.user("otto@acme.example", nil)
	if err := e.h.Invite(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	old := e.inbox.WaitFor(t, "otto@acme.example").Link("/invite?token=")
	e.inbox.WaitFor(t, "owner@acme.example")

	br := e.browser()
	e.clock.Advance(71 * time.Hour)
	br.get(path(t, old)).has(t, 200, `name="password"`)
	e.clock.Advance(2 * time.Hour)
	dead := br.get(path(t, old))
	dead.has(t, 410, "expired", "/invite/resend", "Send me a new invitation")

	// The form can no longer set a password either.
	f := url.Values{"token": {tokenOf(t, old)}, "password": {goodPassword}, "password_confirm": {goodPassword}}
	br.post("/invite", f).has(t, 410, "expired")

	br.post("/invite/resend", dead.hidden()).has(t, 200, "new invitation")
	fresh := e.inbox.WaitFor(t, "otto@acme.example").Link("/invite?token=")
	if fresh == "" || fresh == old {
		t.Fatalf("no fresh link: %q", fresh)
	}
	if n := len(e.inbox.For("owner@acme.example")); n != 1 {
		t.Errorf("the partner was told %d times; a resend tells them nothing new", n)
	}
	form := br.get(path(t, fresh))
	form.has(t, 200, `name="password"`)
	f = form.hidden()
	f.Set("password", goodPassword)
	f.Set("password_confirm", goodPassword)
	br.post("/invite", f).has(t, 200, "Password set")
	if !e.passwordIs(u.ID, goodPassword) {
		t.Error("fresh link did not set the password")
	}
	// Now that the account is set up, the old link says so instead.
	br.get(path(t, old)).has(t, 410, "already used", "Sign in")
}

func TestResendReplacesTheOldLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("pia@acme.example", nil)
	if err := e.h.Invite(ctx, u); err != nil {
		t.Fatal(err)
	}
	first := e.inbox.WaitFor(t, "pia@acme.example").Link("/invite?token=")
	if err := e.h.ResendInvite(ctx, u); err != nil {
		t.Fatal(err)
	}
	second := e.inbox.WaitFor(t, "pia@acme.example").Link("/invite?token=")
	br := e.browser()
	br.get(path(t, first)).has(t, 410, "newer invitation replaced it")
	br.get(path(t, second)).has(t, 200, `name="password"`)

	if err := e.h.ResendInvite(ctx, e.user("off@acme.example", func(u *storage.User) { u.Active = false })); !errors.Is(err, account.ErrInactive) {
		t.Errorf("ResendInvite to an inactive user: %v", err)
	}
}

func TestSSOUserInvitationHasNoLink(t *testing.T) {
	e := newEnv(t)
	u := e.user("sso@acme.example", func(u *storage.User) { u.SSO = true })
	if err := e.h.Invite(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	m := e.inbox.WaitFor(t, "sso@acme.example")
	if m.Link("token=") != "" || m.Link("/login") == "" {
		t.Errorf("SSO invitation links: %v", m.Links)
	}
}

func TestInvitationMentionsSecondFactor(t *testing.T) {
	e := newEnv(t)
	u := e.user("cm@acme.example", func(u *storage.User) { u.Kind = storage.KindCoManaging; u.Role = "co_managing"; u.Username = "cm" })
	if err := e.h.Invite(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	m := e.inbox.WaitFor(t, "cm@acme.example")
	if !strings.Contains(m.Text, "second factor") {
		t.Errorf("co-managing invitation does not mention the second factor:\n%s", m.Text)
	}
	e.browser().get(path(t, m.Link("/invite"))).has(t, 200, "second factor")
}

func TestBadInvitationLinks(t *testing.T) {
	e := newEnv(t)
	u := e.user("quin@acme.example", nil)
	if err := e.h.Invite(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, e.inbox.WaitFor(t, "quin@acme.example").Link("/invite"))
	br := e.browser()

	tampered := []byte(token)
	tampered[10] ^= 1 // still base64url, another token
	for name, tc := range map[string]struct {
		token  string
		status int
		text   string
	}{
		"missing":   {"", 400, "malformed"},
		"short":     {token[:20], 400, "malformed"},
		"bad chars": {strings.Repeat("*", 43), 400, "malformed"},
		"tampered":  {string(tampered), 400, "not valid"},
		"too long":  {strings.Repeat("a", 5000), 400, "malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			br.get("/invite?token="+url.QueryEscape(tc.token)).has(t, tc.status, tc.text)
			f := url.Values{"token": {tc.token}, "password": {goodPassword}, "password_confirm": {goodPassword}}
			br.post("/invite", f).has(t, tc.status, tc.text)
			br.post("/invite/resend", url.Values{"token": {tc.token}}).has(t, tc.status, tc.text)
		})
	}
	if e.get(u.ID).PasswordHash != "" {
		t.Error("a bad link set a password")
	}
	// A reset token is no invitation.
	e.user("rita@acme.example", withPassword(goodPassword))
	br.post("/login/forgot", url.Values{"username": {"rita@acme.example"}}).has(t, 200)
	reset := tokenOf(t, e.inbox.WaitFor(t, "rita@acme.example").Link("/login/reset"))
	br.get("/invite?token="+reset).has(t, 400, "not valid")

	// The real link still works after all that.
	br.get("/invite?token="+token).has(t, 200, `name="password"`)
}

func TestInactiveUserNotInvited(t *testing.T) {
	e := newEnv(t)
	u := e.user("idle@acme.example", func(u *storage.User) { u.Active = false })
	if err := e.h.Invite(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	// The partner hears nothing either; the next mail anywhere is this one.
	v := e.user("next@acme.example", nil)
	if err := e.h.Invite(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	e.inbox.WaitFor(t, "next@acme.example")
	e.inbox.WaitFor(t, "owner@acme.example")
	if n := len(e.inbox.For("idle@acme.example")); n != 0 {
		t.Errorf("inactive user got %d mails", n)
	}
	if n := len(e.inbox.For("owner@acme.example")); n != 1 {
		t.Errorf("partner got %d notices, want 1", n)
	}
}
