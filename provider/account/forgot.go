package account

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"gatehouse/mail"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// maxUsername bounds the username field, as on the sign-in page.
const maxUsername = 320

// forgotPage is the data of forgot.html.
type forgotPage struct {
	CSRF     string
	Username string
	Error    string
	Sent     bool
}

// showForgot is GET /login/forgot.
func (h *Handler) showForgot(w http.ResponseWriter, r *http.Request) {
	renderPage(w, http.StatusOK, "forgot", forgotPage{
		CSRF:     h.cfg.Secure.CSRFToken(w, r),
		Username: strings.TrimSpace(r.URL.Query().Get("username")),
	})
}

// forgot is POST /login/forgot. Whether the name is an account that may
// reset its password or not, the answer is the same page, with the same
// status, after the same time: the link (if any) goes through the mail
// queue, and the answer waits out ForgotMinDuration.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !h.postForm(w, r) {
		return
	}
	if h.limited(w, r, limitForgot, web.ClientIP(r)) {
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	page := forgotPage{CSRF: h.cfg.Secure.CSRFToken(w, r), Username: username}
	switch {
	case username == "":
		page.Error = "username: enter your email address (or username@domain)."
	case len(username) > maxUsername:
		page.Username = ""
		page.Error = "username: at most 320 characters."
	case !plausibleUsername(username):
		page.Error = "username: enter an email address, or username@domain for a co-managing user."
	}
	if page.Error != "" {
		renderPage(w, http.StatusBadRequest, "forgot", page)
		return
	}

	h.mailReset(r, username)

	// Wait out the rest of the fixed time (on the real clock: this is about
	// what an observer measures).
	if rest := h.cfg.ForgotMinDuration - time.Since(start); rest > 0 {
		t := time.NewTimer(rest)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	page.Sent = true
	renderPage(w, http.StatusOK, "forgot", page)
}

// mailReset sends a reset link to the account named, if there is one that
// may reset its password. Nothing it finds changes the answer, so its
// failures are only logged.
func (h *Handler) mailReset(r *http.Request, username string) {
	ctx := r.Context()
	u, found, err := h.findUser(ctx, username)
	if err != nil {
		h.log.Error("account: forgot password: looking up the user", "err", err)
		return
	}
	if !found || !u.Active || u.SSO || u.PasswordResetDisabled {
		return
	}
	// Bound the mail any one mailbox gets, whoever asks.
	if over, err := h.over(r, limitForgotUser, u.ID); err != nil || over {
		if err != nil {
			h.log.Error("account: forgot password: rate limit", "err", err)
		} else {
			h.log.Info("account: reset link not sent: too many for this account", "user", u.ID)
		}
		return
	}
	token, err := h.issue(ctx, kindReset, u, "")
	if err != nil {
		h.log.Error("account: forgot password: issuing the link", "user", u.ID, "err", err)
		return
	}
	h.send(ctx, mail.Reset, u.Email, mail.Data{
		Name: u.Name, Email: u.Email, Link: h.linkURL(kindReset, token), ValidFor: validFor(kindReset),
	})
}

// plausibleUsername accepts something@something without spaces or control
// characters; anything else cannot name an account.
func plausibleUsername(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// findUser resolves what a user types at sign-in: an email address, or
// username@domain for a co-managing user of the partner with that domain.
func (h *Handler) findUser(ctx context.Context, name string) (storage.User, bool, error) {
	name = strings.ToLower(name)
	u, err := h.store.GetUserByEmail(ctx, name)
	if err == nil {
		return u, true, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, false, err
	}
	at := strings.LastIndexByte(name, '@')
	partners, err := h.store.ListPartners(ctx)
	if err != nil {
		return storage.User{}, false, err
	}
	for _, p := range partners {
		if p.Domain == "" || !strings.EqualFold(p.Domain, name[at+1:]) {
			continue
		}
		u, err := h.store.GetUserByUsername(ctx, p.ID, name[:at])
		if errors.Is(err, storage.ErrNotFound) {
			return storage.User{}, false, nil
		}
		if err != nil {
			return storage.User{}, false, err
		}
		return u, true, nil
	}
	return storage.User{}, false, nil
}

// showReset is GET /login/reset?token=: the new-password form when the
// link is good, without using it up.
func (h *Handler) showReset(w http.ResponseWriter, r *http.Request) {
	h.showLink(w, r, kindReset)
}

// reset is POST /login/reset: sets the new password, ends every session
// and lifts a lockout.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	h.setByLink(w, r, kindReset)
}
