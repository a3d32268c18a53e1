package account_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/storage"
)

func TestForgotPasswordAnswersAlike(t *testing.T) {
	e := newEnv(t)
	e.user("norm@acme.example", withPassword(goodPassword))
	e.user("nope@acme.example", func(u *storage.User) { withPassword(goodPassword)(u); u.PasswordResetDisabled = true })
	e.user("idle@acme.example", func(u *storage.User) { withPassword(goodPassword)(u); u.Active = false })
	e.user("sso@acme.example", func(u *storage.User) { u.SSO = true })

	br := e.browser()
	br.get("/login/forgot").has(t, 200, `name="username"`, `name="csrf_token"`)

	answer := func(name string) page {
		e.clock.Advance(time.Hour) // past the rate limits
		p := br.post("/login/forgot", url.Values{"username": {name}})
		// The page repeats what was typed; everything else must be equal.
		p.body = strings.ReplaceAll(p.body, name, "NAME")
		return p
	}
	normal := answer("norm@acme.example")
	normal.has(t, 200, "a link to choose a new one is on its way")
	// The mail is sent (synchronously in these tests) before the page answers.
	if m := e.inbox.For("norm@acme.example"); len(m) != 1 || m[0].Link("/login/reset?token=") == "" {
		t.Fatalf("normal user: %d mails", len(m))
	}
	for _, name := range []string{"nope@acme.example", "idle@acme.example", "sso@acme.example", "ghost@acme.example", "ghost@nowhere.example"} {
		p := answer(name)
		if p.status != normal.status || p.body != normal.body {
			t.Errorf("%s: answered differently (status %d):\n%s", name, p.status, p.body)
		}
		if n := len(e.inbox.For(name)); n != 0 {
			t.Errorf("%s: got %d mails", name, n)
		}
	}
}

func TestForgotPasswordCoManagingUsername(t *testing.T) {
	e := newEnv(t)
	e.user("cm@globex.example", func(u *storage.User) {
		withPassword(goodPassword)(u)
		u.Kind, u.Role, u.Username = storage.KindCoManaging, "co_managing", "jdoe"
	})
	e.browser().post("/login/forgot", url.Values{"username": {"JDoe@acme.example"}}).has(t, 200)
	if e.inbox.WaitFor(t, "cm@globex.example").Link("/login/reset") == "" {
		t.Error("no reset link for username@domain")
	}
}

func TestResetSetsPasswordAndLiftsLockout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("lock@acme.example", func(u *storage.User) {
		withPassword("old-password-that-is-long")(u)
		u.LockedUntil = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	})
	br := e.browser()
	br.post("/login/forgot", url.Values{"username": {"lock@acme.example"}}).has(t, 200)
	m := e.inbox.WaitFor(t, "lock@acme.example")
	if !strings.Contains(m.Text, "1 hour") {
		t.Errorf("reset mail does not say how long the link lives:\n%s", m.Text)
	}
	link := m.Link("/login/reset?token=")

	form := br.get(path(t, link))
	form.has(t, 200, `name="password"`, `name="password_confirm"`, `action="/login/reset"`)
	f := form.hidden()
	f.Set("password", "lock-someth")
	f.Set("password_confirm", "lock-someth")
	br.post("/login/reset", f).has(t, 400, "at least 12 characters")
	f.Set("password", goodPassword)
	f.Set("password_confirm", goodPassword)
	br.post("/login/reset", f).has(t, 200, "Password set", "Sign in")

	got := e.get(u.ID)
	if !e.passwordIs(u.ID, goodPassword) || !got.LockedUntil.IsZero() {
		t.Errorf("after reset: password set %v, locked until %v", e.passwordIs(u.ID, goodPassword), got.LockedUntil)
	}
	if calls := e.ended.Calls(); len(calls) != 1 || calls[0] != [2]string{u.ID, ""} {
		t.Errorf("EndSessions calls %v", calls)
	}
	if len(e.unlocks) != 1 || e.unlocks[0] != u.ID {
		t.Errorf("ResetLockout calls %v", e.unlocks)
	}
	events, _, err := e.store.ListAudit(ctx, u.PartnerID, storage.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Action != "user.unlock" || events[0].Actor != u.ID {
		t.Errorf("audit: %+v", events)
	}
	if !strings.Contains(e.inbox.WaitFor(t, "lock@acme.example").Subject, "password was changed") {
		t.Error("no password-changed notice")
	}
	br.get(path(t, link)).has(t, 410, "already used", "/login/forgot")
}

func TestResetLinkRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("ref@acme.example", withPassword(goodPassword))
	br := e.browser()
	requestLink := func() string {
		t.Helper()
		br.post("/login/forgot", url.Values{"username": {"ref@acme.example"}}).has(t, 200)
		return e.inbox.WaitFor(t, "ref@acme.example").Link("/login/reset?token=")
	}
	newLink := func() string {
		t.Helper()
		e.clock.Advance(61 * time.Minute) // past the per-account limit on reset mail
		return requestLink()
	}
	try := func(token string) page {
		f := url.Values{"token": {token}, "password": {"brand-new-pass-99"}, "password_confirm": {"brand-new-pass-99"}}
		return br.post("/login/reset", f)
	}
	unchanged := func() {
		t.Helper()
		if !e.passwordIs(u.ID, goodPassword) {
			t.Fatal("password changed")
		}
	}

	t.Run("tampered", func(t *testing.T) {
		tok := []byte(tokenOf(t, newLink()))
		tok[0] ^= 1
		br.get("/login/reset?token="+string(tok)).has(t, 400, "not valid", "/login/forgot")
		try(string(tok)).has(t, 400, "not valid")
		unchanged()
	})
	t.Run("expired", func(t *testing.T) {
		link := newLink()
		e.clock.Advance(60 * time.Minute)
		br.get(path(t, link)).has(t, 410, "expired", "/login/forgot")
		try(tokenOf(t, link)).has(t, 410, "expired")
		unchanged()
	})
	t.Run("superseded", func(t *testing.T) {
		first := newLink()
		requestLink()
		try(tokenOf(t, first)).has(t, 410, "already used")
		unchanged()
	})
	t.Run("password changed in between", func(t *testing.T) {
		link := newLink()
		if _, err := e.store.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
			u.PasswordChangedAt = e.clock.Now().Add(time.Second)
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		br.get(path(t, link)).has(t, 410, "password changed since")
		try(tokenOf(t, link)).has(t, 410)
		unchanged()
	})
	t.Run("reset disabled after the link was sent", func(t *testing.T) {
		link := newLink()
		if _, err := e.store.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
			u.PasswordResetDisabled = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		try(tokenOf(t, link)).has(t, 403, "cannot be reset")
		unchanged()
		if _, err := e.store.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
			u.PasswordResetDisabled = false
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another user's link stays theirs", func(t *testing.T) {
		other := e.user("other@acme.example", withPassword(goodPassword))
		br.post("/login/forgot", url.Values{"username": {"other@acme.example"}}).has(t, 200)
		link := e.inbox.WaitFor(t, "other@acme.example").Link("/login/reset?token=")
		// The other user's address changes: the link went to a mailbox
		// that no longer owns the account.
		if _, err := e.store.UpdateUser(ctx, other.ID, func(u storage.User) (storage.User, error) {
			u.Email = "renamed@acme.example"
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		try(tokenOf(t, link)).has(t, 410)
		if !e.passwordIs(other.ID, goodPassword) {
			t.Error("other user's password changed")
		}
		unchanged()
	})
	t.Run("used twice", func(t *testing.T) {
		link := newLink()
		try(tokenOf(t, link)).has(t, 200, "Password set")
		try(tokenOf(t, link)).has(t, 410, "already used")
		if !e.passwordIs(u.ID, "brand-new-pass-99") {
			t.Error("first use did not set the password")
		}
	})
}

func TestForgotBadInput(t *testing.T) {
	e := newEnv(t)
	br := e.browser()
	br.post("/login/forgot", url.Values{"username": {""}}).has(t, 400, "username: enter")
	br.post("/login/forgot", url.Values{"username": {strings.Repeat("a", 400) + "@acme.example"}}).has(t, 400, "username: at most 320")
	br.post("/login/forgot", url.Values{"username": {"no at sign"}}).has(t, 400, "username: enter an email")
	br.post("/login/forgot", url.Values{"username": {"a@b.example"}, "csrf_token": {"forged"}}).has(t, 403, "csrf_token")
}
