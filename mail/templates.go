package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// Template names one kind of mail.
type Template string

// The mail Gatehouse sends.
const (
	// Invite carries the one-time link to set a first password.
	Invite Template = "invite"
	// NewAccount tells the partner's primary address about a new account;
	// it never carries the invitation link.
	NewAccount Template = "new_account"
	// Reset carries a one-time password reset link.
	Reset Template = "reset"
	// PasswordChanged tells the account holder their password changed.
	PasswordChanged Template = "password_changed"
	// EmailConfirm goes to a new address with the link that confirms it.
	EmailConfirm Template = "email_confirm"
	// EmailNotice tells the old address that a change was requested.
	EmailNotice Template = "email_notice"
	// MFAPaused tells the user an admin paused their second factor.
	MFAPaused Template = "mfa_paused"
	// Locked tells the user their account was locked.
	Locked Template = "locked"
)

// Templates lists every template, for tests and start-up checks.
var Templates = []Template{Invite, NewAccount, Reset, PasswordChanged, EmailConfirm, EmailNotice, MFAPaused, Locked}

// Data fills the templates; each uses the fields it needs.
type Data struct {
	Product string // "Gatehouse" when empty
	Issuer  string // base URL, for links back to Gatehouse
	Name    string // the account holder's name
	Email   string // the account's address
	Partner string // the partner's name
	Role    string
	// Link is the one-time link, and ValidFor how long it lives ("72 hours").
	Link     string
	ValidFor string
	// MFARequired says the invitee will enrol a second factor after setting
	// their password.
	MFARequired bool
	OldEmail    string
	NewEmail    string
	// Until is when a pause or lockout ends; NextLogin marks a pause for the
	// next sign-in only.
	Until     time.Time
	NextLogin bool
	Reason    string
	// Time and IP say when and from where something happened.
	Time time.Time
	IP   string
}

//go:embed templates/*.txt templates/*.html
var files embed.FS

type parsedTemplate struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var (
	parseOnce sync.Once
	parsed    map[Template]parsedTemplate
	parseErr  error
)

func parseAll() {
	parsed = map[Template]parsedTemplate{}
	for _, t := range Templates {
		txt, err := texttemplate.ParseFS(files, "templates/"+string(t)+".txt")
		if err != nil {
			parseErr = fmt.Errorf("mail: template %s: %w", t, err)
			return
		}
		// The HTML body goes into the shared layout.
		html, err := htmltemplate.ParseFS(files, "templates/layout.html", "templates/"+string(t)+".html")
		if err != nil {
			parseErr = fmt.Errorf("mail: template %s: %w", t, err)
			return
		}
		parsed[t] = parsedTemplate{text: txt, html: html}
	}
}

// Check parses every template and returns the first error. The templates
// are embedded, so the package's tests calling it catch a broken one before
// a build ships; Compose reports the same error otherwise.
func Check() error {
	parseOnce.Do(parseAll)
	return parseErr
}

// Compose renders the mail t to the address to.
func Compose(t Template, to string, d Data) (Message, error) {
	parseOnce.Do(parseAll)
	if parseErr != nil {
		return Message{}, parseErr
	}
	p, ok := parsed[t]
	if !ok {
		return Message{}, fmt.Errorf("mail: no template %q", t)
	}
	if d.Product == "" {
		d.Product = "Gatehouse"
	}
	d.Issuer = strings.TrimRight(d.Issuer, "/")
	var subject, text, html bytes.Buffer
	if err := p.text.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("mail: %s subject: %w", t, err)
	}
	if err := p.text.ExecuteTemplate(&text, "text", d); err != nil {
		return Message{}, fmt.Errorf("mail: %s text: %w", t, err)
	}
	// The layout's <title> repeats the subject, on one line whatever the
	// data held.
	page := struct {
		Data
		Subject string
	}{d, strings.Join(strings.Fields(subject.String()), " ")}
	if err := p.html.ExecuteTemplate(&html, "layout.html", page); err != nil {
		return Message{}, fmt.Errorf("mail: %s html: %w", t, err)
	}
	return Message{
		To:      to,
		Subject: page.Subject,
		Text:    strings.TrimLeft(text.String(), "\n"),
		HTML:    html.String(),
	}, nil
}
