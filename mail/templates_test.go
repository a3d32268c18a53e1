package mail_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse/mail"
)

func TestEveryTemplateComposes(t *testing.T) {
	if err := mail.Check(); err != nil {
		t.Fatal(err)
	}
	d := mail.Data{
		Issuer: "https://id.example/", Name: "Olivia <Owner>", Email: "olivia@acme.example",
		Partner: "Acme MSP", Role: "admin", Link: "https://id.example/invite?token=T0K3N", ValidFor: "72 hours",
		OldEmail: "old@acme.example", NewEmail: "new@acme.example",
		Until: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC), Reason: "lost phone",
		Time: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC), IP: "192.0.2.1",
	}
	for _, tmpl := range mail.Templates {
		m, err := mail.Compose(tmpl, "olivia@acme.example", d)
		if err != nil {
			t.Errorf("%s: %v", tmpl, err)
			continue
		}
		if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("%s: subject %q", tmpl, m.Subject)
		}
		if strings.TrimSpace(m.Text) == "" || !strings.Contains(m.HTML, "</html>") {
			t.Errorf("%s: empty body", tmpl)
		}
		// HTML escapes what users typed; the text body keeps it as is.
		if strings.Contains(m.HTML, "<Owner>") {
			t.Errorf("%s: HTML not escaped", tmpl)
		}
		if strings.Contains(m.Text, "&lt;") {
			t.Errorf("%s: text body HTML-escaped", tmpl)
		}
	}
}

func TestNewAccountNoticeCarriesNoLink(t *testing.T) {
	d := mail.Data{Issuer: "https://id.example", Name: "N", Email: "n@acme.example", Link: "https://id.example/invite?token=SECRET"}
	m, err := mail.Compose(mail.NewAccount, "owner@acme.example", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text+m.HTML, "SECRET") {
		t.Error("the partner's notice carries the invitation link")
	}
	inv, err := mail.Compose(mail.Invite, "n@acme.example", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(inv.Text, d.Link) || !strings.Contains(inv.HTML, "token=SECRET") {
		t.Error("the invitation lacks its link")
	}
}

func TestComposeUnknownTemplate(t *testing.T) {
	if _, err := mail.Compose("nope", "a@b.example", mail.Data{}); err == nil {
		t.Error("unknown template composed")
	}
}
