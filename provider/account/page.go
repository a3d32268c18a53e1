package account

import (
	"errors"
	"net/http"

	"gatehouse/passwords"
	"gatehouse/provider/web"
	"gatehouse/storage"
	"gatehouse/templates"
)

// loginForAccount is where a browser without a session is sent.
const loginForAccount = "/login?return_to=/account"

// accountPage is the data of account.html.
type accountPage struct {
	CSRF     string
	Name     string
	Email    string
	Role     string
	SSO      bool
	Services []Service
	Security string // where second factors are managed; "" hides the section
	Error    string
	Notice   string
}

func renderPage(w http.ResponseWriter, status int, page string, data any) {
	templates.Render(w, status, page, data)
}

// signedIn returns the browser's user, or redirects to sign-in and
// returns false.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (storage.User, string, bool) {
	uid, sid, ok := h.cfg.CurrentUser(r)
	if !ok {
		http.Redirect(w, r, loginForAccount, http.StatusSeeOther)
		return storage.User{}, "", false
	}
	u, err := h.store.GetUser(r.Context(), uid)
	if errors.Is(err, storage.ErrNotFound) {
		http.Redirect(w, r, loginForAccount, http.StatusSeeOther)
		return storage.User{}, "", false
	}
	if err != nil {
		h.serverError(w, r, err)
		return storage.User{}, "", false
	}
	return u, sid, true
}

func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, u storage.User, errText, notice string) {
	p := accountPage{
		CSRF:     h.cfg.Secure.CSRFToken(w, r),
		Name:     u.Name,
		Email:    u.Email,
		Role:     u.Role,
		SSO:      u.SSO,
		Error:    errText,
		Notice:   notice,
		Security: h.cfg.SecurityPath,
	}
	if h.cfg.Services != nil {
		p.Services = h.cfg.Services(r.Context(), u)
	}
	renderPage(w, status, "account", p)
}

// serveAccount is GET /account.
func (h *Handler) serveAccount(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	notice := ""
	if r.URL.Query().Get("changed") == "password" {
		notice = "Your password was changed. Your other sessions were signed out."
	}
	h.renderAccount(w, r, http.StatusOK, u, "", notice)
}

// changePassword is POST /account: the password form, which needs the
// current password. Wrong guesses are bounded by a per-account and a
// per-address rate limit rather than the sign-in lockout: whoever is here
// already holds a session.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	u, sid, ok := h.signedIn(w, r)
	if !ok || !h.postForm(w, r) {
		return
	}
	if h.limited(w, r, limitPasswordIP, web.ClientIP(r)) {
		return
	}
	ctx := r.Context()
	current := r.PostFormValue("current_password")
	password, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	fail := func(text string) { h.renderAccount(w, r, http.StatusBadRequest, u, text, "") }
	switch {
	case u.SSO:
		fail("password: this account signs in through your company's account and has no password here.")
		return
	case current == "":
		fail("current_password: enter your current password.")
		return
	case len(current) > passwords.MaxBytes:
		fail("current_password: at most 1024 bytes.")
		return
	}
	if problem := checkNewPassword(password, confirm, u.Email); problem != "" {
		fail(problem)
		return
	}
	// Only what tests the current password counts against the account's
	// limit: a mistyped new password is no guess.
	if h.limited(w, r, limitPassword, u.ID) {
		return
	}
	good, err := h.verify(ctx, u.PasswordHash, current)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !good {
		fail("current_password: the current password is wrong.")
		return
	}
	if password == current {
		fail("password: choose a password different from the current one.")
		return
	}
	hash, err := h.hash(ctx, password)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	verified := u.PasswordHash
	_, err = h.setPassword(ctx, r, passwordChange{
		userID: u.ID,
		hash:   hash,
		check: func(cur storage.User) error {
			if cur.PasswordHash != verified {
				return errStale
			}
			return nil
		},
		keepSession: sid,
		via:         "account",
	})
	switch {
	case errors.Is(err, errStale):
		h.renderAccount(w, r, http.StatusConflict, u, "current_password: your password changed meanwhile; reload the page and try again.", "")
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?changed=password", http.StatusSeeOther)
}
