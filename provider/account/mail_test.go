package account_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/mail"
	"gatehouse/mail/mailtest"
	"gatehouse/provider/account"
	"gatehouse/storage"
)

// With the production queue in front of SMTP, a 451 is retried and the
// invitation still arrives, while Invite returned at once.
func TestInvitationSurvivesTemporarySMTPFailure(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	smtp, err := mail.NewSMTP(mail.SMTPConfig{Addr: addr, From: "no-reply@gatehouse.example"})
	if err != nil {
		t.Fatal(err)
	}
	q := mail.NewQueueWith(smtp, slog.New(slog.NewTextHandler(io.Discard, nil)), mail.QueueConfig{Backoff: 10 * time.Millisecond, Workers: 1})
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	e := newEnv(t, func(c *account.Config) { c.Mail = q })

	inbox.FailNext(1, 451)
	u := e.user("retry@acme.example", nil)
	if err := e.h.Invite(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	m := inbox.WaitFor(t, "retry@acme.example")
	if m.Link("/invite?token=") == "" {
		t.Error("retried invitation lost its link")
	}
	inbox.WaitFor(t, "owner@acme.example")
	if n := inbox.Attempts(); n != 3 {
		t.Errorf("SMTP attempts %d, want 3 (a refused one, then two delivered)", n)
	}
}

func TestMFAPausedMail(t *testing.T) {
	e := newEnv(t)
	u := e.user("cm@acme.example", nil)
	until := time.Date(2030, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := e.h.MFAPaused(context.Background(), u, until, false, "lost phone"); err != nil {
		t.Fatal(err)
	}
	m := e.inbox.WaitFor(t, "cm@acme.example")
	if !strings.Contains(m.Text, "lost phone") || !strings.Contains(m.Text, "2 March 2030") {
		t.Errorf("pause mail:\n%s", m.Text)
	}
	if err := e.h.MFAPaused(context.Background(), u, time.Time{}, true, ""); err != nil {
		t.Fatal(err)
	}
	if m := e.inbox.WaitFor(t, "cm@acme.example"); !strings.Contains(m.Text, "next sign-in only") {
		t.Errorf("next-login pause mail:\n%s", m.Text)
	}
}

func TestLockedMail(t *testing.T) {
	e := newEnv(t)
	u := e.user("lk@acme.example", withPassword(goodPassword))
	if err := e.h.NotifyLocked(context.Background(), u, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if m := e.inbox.WaitFor(t, "lk@acme.example"); m.Link("/login/forgot") == "" || strings.Contains(m.Text, "9999") {
		t.Errorf("lockout mail:\n%s", m.Text)
	}
	v := e.user("nr@acme.example", func(u *storage.User) { u.PasswordResetDisabled = true })
	if err := e.h.NotifyLocked(context.Background(), v, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if m := e.inbox.WaitFor(t, "nr@acme.example"); m.Link("/login/forgot") != "" || !strings.Contains(m.Text, "administrator") {
		t.Errorf("lockout mail without reset:\n%s", m.Text)
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	e.user("many@acme.example", withPassword(goodPassword))
	br := e.browser()
	br.xff = "198.51.100.7"
	for i := range 5 {
		br.post("/login/forgot", url.Values{"username": {"many@acme.example"}}).has(t, 200)
		_ = i
	}
	br.post("/login/forgot", url.Values{"username": {"many@acme.example"}}).has(t, 429, "Too many requests")
	// Another address is not held back by this one…
	other := e.browser()
	other.xff = "198.51.100.8"
	other.post("/login/forgot", url.Values{"username": {"many@acme.example"}}).has(t, 200)
	// …but the account got at most three links in the hour, whoever asked.
	if n := len(e.inbox.For("many@acme.example")); n != 3 {
		t.Errorf("%d reset mails, want 3", n)
	}
	// A minute later the address may ask again.
	e.clock.Advance(time.Minute)
	br.post("/login/forgot", url.Values{"username": {"nobody@acme.example"}}).has(t, 200)

	// Resending invitations is limited per address too.
	u := e.user("inv@acme.example", nil)
	if err := e.h.Invite(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	link := e.inbox.WaitFor(t, "inv@acme.example").Link("/invite")
	e.clock.Advance(73 * time.Hour)
	f := url.Values{"token": {tokenOf(t, link)}}
	for range 3 {
		br.post("/invite/resend", f).has(t, 200, "new invitation")
	}
	br.post("/invite/resend", f).has(t, 429)
}
