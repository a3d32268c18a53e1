package mfa

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"gatehouse/provider/login"
	"gatehouse/provider/policy"
	"gatehouse/provider/web"
	"gatehouse/storage"
	"gatehouse/templates"
)

// The account security page, /account/security: the signed-in user's
// second factors, with forms to add an authenticator app, register a
// passkey, add a phone for text messages (when SMS is on), remove a factor
// and make new recovery codes. Every form carries the CSRF token; a
// browser without a session is sent to sign in and brought back.

const securityPath = "/account/security"

// notices are the fixed texts a redirect back to the page may show.
var notices = map[string]string{
	"totp":    "Your authenticator app is set up.",
	"passkey": "Your passkey is registered.",
	"sms":     "Your phone number is set up for text-message codes.",
	"removed": "The factor was removed.",
}

// securityPage is the data of mfa_security.html.
type securityPage struct {
	Name     string
	Email    string
	Required bool // the user must keep a second factor
	Notice   string

	TOTP     []factorView
	Passkeys []factorView
	Phones   []factorView
	// RecoveryLeft counts unused recovery codes; HasFactor says whether
	// the user has a factor they back up.
	RecoveryLeft int
	HasFactor    bool

	SMSEnabled      bool
	PasskeysEnabled bool
	Phone           string // to prefill the SMS form
}

type factorView struct {
	ID        string
	Name      string
	Added     string
	LastUsed  string
	Removable bool
}

// current returns the signed-in user, or sends the browser to sign in
// (ok false).
func (m *MFA) current(w http.ResponseWriter, r *http.Request) (u storage.User, sessionID string, ok bool) {
	uid, sid, ok := m.cfg.CurrentUser(r)
	if ok {
		u, err := m.dir.GetUser(r.Context(), uid)
		if err == nil && u.Active {
			return u, sid, true
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			m.serverError(w, r, err)
			return storage.User{}, "", false
		}
	}
	http.Redirect(w, r, "/login?return_to="+url.QueryEscape(securityPath), http.StatusSeeOther)
	return storage.User{}, "", false
}

// form reads a POSTed form and checks its CSRF token; on failure it has
// answered.
func (m *MFA) form(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		m.message(w, http.StatusBadRequest, "Form not readable", "The form could not be read. Go back and try again.")
		return false
	}
	if !web.CheckCSRF(r) {
		m.message(w, http.StatusForbidden, "Form expired", "This form is out of date (csrf_token is missing or wrong). Go back, reload the page and try again.")
		return false
	}
	return true
}

func (m *MFA) serveSecurity(w http.ResponseWriter, r *http.Request) {
	u, _, ok := m.current(w, r)
	if !ok {
		return
	}
	m.renderSecurity(w, r, u, http.StatusOK, "", notices[r.URL.Query().Get("done")])
}

func (m *MFA) renderSecurity(w http.ResponseWriter, r *http.Request, u storage.User, status int, errText, notice string) {
	ctx := r.Context()
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	partnerRequires, err := m.partnerRequiresMFA(ctx, u.PartnerID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	n := usable(factors)
	removable := policy.CanRemoveFactor(string(u.Kind), partnerRequires, n-1)
	view := func(f storage.Factor) factorView {
		v := factorView{ID: f.ID, Name: f.Name, Added: day(f.CreatedAt), LastUsed: day(f.LastUsedAt), Removable: removable}
		if v.LastUsed == "" {
			v.LastUsed = "never"
		}
		return v
	}
	d := securityPage{
		Name:            u.Name,
		Email:           u.Email,
		Required:        policy.FactorMandatory(string(u.Kind), partnerRequires),
		Notice:          notice,
		RecoveryLeft:    len(ofKind(factors, storage.FactorRecovery)),
		HasFactor:       n > 0,
		SMSEnabled:      m.sms != nil,
		PasskeysEnabled: m.wa != nil,
		Phone:           u.Phone,
	}
	for _, f := range factors {
		switch f.Kind {
		case storage.FactorTOTP:
			d.TOTP = append(d.TOTP, view(f))
		case storage.FactorWebAuthn:
			d.Passkeys = append(d.Passkeys, view(f))
		case storage.FactorSMS:
			d.Phones = append(d.Phones, view(f))
		}
	}
	m.page(w, r, status, "mfa_security", securityPath, errText, d)
}

// page renders one of the account pages with the same data shape as the
// sign-in steps' pages.
func (m *MFA) page(w http.ResponseWriter, r *http.Request, status int, name, action, errText string, data any) {
	web.PageHeaders(w.Header())
	templates.Render(w, status, name, login.PageData{
		CSRF:   m.cfg.Secure.CSRFToken(w, r),
		RPName: "Gatehouse",
		Action: action,
		Error:  errText,
		Data:   data,
	})
}

func (m *MFA) message(w http.ResponseWriter, status int, title, text string) {
	web.PageHeaders(w.Header())
	templates.RenderMessage(w, status, templates.Message{Title: title, Text: text, LinkText: "Back to your security settings", LinkURL: securityPath})
}

// serverError answers a backend failure: 503 when it is unreachable, 500
// otherwise; the detail goes to the log.
func (m *MFA) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, storage.ErrUnavailable) {
		m.log.Warn("mfa: backend unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		m.message(w, http.StatusServiceUnavailable, "Temporarily unavailable", "This page is temporarily unavailable. Try again in a moment.")
		return
	}
	m.log.Error("mfa: internal error", "path", r.URL.Path, "err", err)
	m.message(w, http.StatusInternalServerError, "Something went wrong", "The change failed because of an error at Gatehouse. Try again in a moment.")
}

// showRecovery shows new recovery codes, once.
func (m *MFA) showRecovery(w http.ResponseWriter, r *http.Request, codes []string, back string) {
	m.page(w, r, http.StatusOK, "mfa_recovery", "", "", recoveryPage{Codes: codes, Back: back})
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}
