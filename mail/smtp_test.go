package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gatehouse/mail"
	"gatehouse/mail/mailtest"
)

func newSMTP(t *testing.T, cfg mail.SMTPConfig) *mail.SMTP {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Gatehouse <no-reply@gatehouse.example>"
	}
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func TestSMTPSendsMultipartMail(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	s := newSMTP(t, mail.SMTPConfig{Addr: addr, Now: func() time.Time { return now }})

	long := strings.Repeat("a very long line that must be wrapped ", 10)
	err := s.Send(context.Background(), mail.Message{
		To:      "Zoë Example <zoe@acme.example>",
		Subject: "Grüße from Gatehouse",
		Text:    "Hello Zoë,\n\nhttps://id.example/invite?token=abc_DEF-123\n" + long + "\n",
		HTML:    "<p>Hello Zoë</p>",
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := inbox.WaitFor(t, "zoe@acme.example")
	if m.Subject != "Grüße from Gatehouse" {
		t.Errorf("subject = %q", m.Subject)
	}
	if m.From != "no-reply@gatehouse.example" {
		t.Errorf("envelope from = %q", m.From)
	}
	for _, h := range []string{"Date", "Message-Id", "Mime-Version", "From", "To"} {
		if m.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if d, err := m.Header.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date = %v, %v; want %v", d, err, now)
	}
	if !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative;") {
		t.Errorf("Content-Type = %q", m.Header.Get("Content-Type"))
	}
	if !strings.Contains(m.Text, "Hello Zoë") || !strings.Contains(m.Text, long) {
		t.Errorf("text body lost content: %q", m.Text)
	}
	if m.HTML != "<p>Hello Zoë</p>" {
		t.Errorf("html = %q", m.HTML)
	}
	if got := m.Link("/invite"); got != "https://id.example/invite?token=abc_DEF-123" {
		t.Errorf("link = %q", got)
	}
	for _, line := range strings.Split(string(m.Raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line longer than RFC 5322 allows: %d", len(line))
		}
	}
	if m.TLS {
		t.Error("plain server, yet TLS reported")
	}
}

func TestSMTPPlainTextOnly(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	s := newSMTP(t, mail.SMTPConfig{Addr: addr})
	if err := s.Send(context.Background(), mail.Message{To: "a@b.example", Subject: "x", Text: "only text"}); err != nil {
		t.Fatal(err)
	}
	m := inbox.WaitFor(t, "a@b.example")
	if !strings.HasPrefix(m.Header.Get("Content-Type"), "text/plain") || strings.TrimSpace(m.Text) != "only text" || m.HTML != "" {
		t.Errorf("got %q / %q / %q", m.Header.Get("Content-Type"), m.Text, m.HTML)
	}
}

func TestSMTPStartTLSAndAuth(t *testing.T) {
	addr, inbox := mailtest.NewServerWith(t, mailtest.Config{TLS: true, Username: "gh", Password: "s3cret"})
	s := newSMTP(t, mail.SMTPConfig{Addr: addr, Username: "gh", Password: "s3cret", TLSConfig: inbox.ClientTLS()})
	// Twice: the first send learns that the server offers STARTTLS, the
	// second goes straight to it.
	for i := range 2 {
		if err := s.Send(context.Background(), mail.Message{To: "tls@acme.example", Subject: "tls", Text: "hi"}); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		m := inbox.WaitFor(t, "tls@acme.example")
		if !m.TLS || m.AuthUser != "gh" {
			t.Errorf("send %d: TLS=%v auth=%q, want TLS with user gh", i, m.TLS, m.AuthUser)
		}
	}
}

func TestSMTPRejectsUntrustedCertificate(t *testing.T) {
	addr, inbox := mailtest.NewServerWith(t, mailtest.Config{TLS: true})
	s := newSMTP(t, mail.SMTPConfig{Addr: addr}) // system roots: the test certificate is unknown
	err := s.Send(context.Background(), mail.Message{To: "x@acme.example", Subject: "s", Text: "t"})
	if err == nil {
		t.Fatal("sent over TLS to a server with an untrusted certificate")
	}
	if len(inbox.All()) != 0 {
		t.Error("message delivered despite the failed TLS handshake")
	}
}

func TestSMTPAuthOnLocalPlainServer(t *testing.T) {
	addr, inbox := mailtest.NewServerWith(t, mailtest.Config{Username: "gh", Password: "pw"})
	s := newSMTP(t, mail.SMTPConfig{Addr: addr, Username: "gh", Password: "pw"})
	if err := s.Send(context.Background(), mail.Message{To: "x@acme.example", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if m := inbox.WaitFor(t, "x@acme.example"); m.AuthUser != "gh" {
		t.Errorf("auth user = %q", m.AuthUser)
	}

	bad := newSMTP(t, mail.SMTPConfig{Addr: addr, Username: "gh", Password: "wrong"})
	err := bad.Send(context.Background(), mail.Message{To: "x@acme.example", Subject: "s", Text: "t"})
	if err == nil || mail.Temporary(err) {
		t.Errorf("wrong password: err = %v, temporary = %v; want a permanent failure", err, mail.Temporary(err))
	}
}

func TestSMTPErrorsAreClassified(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	s := newSMTP(t, mail.SMTPConfig{Addr: addr})
	msg := mail.Message{To: "x@acme.example", Subject: "s", Text: "t"}

	inbox.FailNext(1, 451)
	err := s.Send(context.Background(), msg)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || !mail.Temporary(err) {
		t.Errorf("451: err = %v, temporary = %v", err, mail.Temporary(err))
	}
	inbox.FailNext(1, 550)
	if err := s.Send(context.Background(), msg); err == nil || mail.Temporary(err) {
		t.Errorf("550: err = %v, temporary = %v", err, mail.Temporary(err))
	}

	// Nobody listening: temporary, the server may come back.
	down := newSMTP(t, mail.SMTPConfig{Addr: "127.0.0.1:1", Timeout: 2 * time.Second})
	if err := down.Send(context.Background(), msg); err == nil || !mail.Temporary(err) {
		t.Errorf("connection refused: err = %v, temporary = %v", err, mail.Temporary(err))
	}
}

func TestSMTPRefusesBadMessages(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	s := newSMTP(t, mail.SMTPConfig{Addr: addr})
	for name, m := range map[string]mail.Message{
		"no recipient":     {Subject: "s", Text: "t"},
		"bad recipient":    {To: "not an address", Subject: "s", Text: "t"},
		"header injection": {To: "x@acme.example", Subject: "s\r\nBcc: evil@example.com", Text: "t"},
		"empty body":       {To: "x@acme.example", Subject: "s"},
	} {
		err := s.Send(context.Background(), m)
		if !errors.Is(err, mail.ErrInvalidMessage) || mail.Temporary(err) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
		}
	}
	if n := inbox.Attempts(); n != 0 {
		t.Errorf("%d messages reached the server", n)
	}
}

func TestNewSMTPValidates(t *testing.T) {
	for _, cfg := range []mail.SMTPConfig{
		{Addr: "no-port", From: "a@b.example"},
		{Addr: "127.0.0.1:25", From: "not an address"},
	} {
		if _, err := mail.NewSMTP(cfg); err == nil {
			t.Errorf("NewSMTP(%+v) accepted", cfg)
		}
	}
}
