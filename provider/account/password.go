package account

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"gatehouse/mail"
	"gatehouse/passwords"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// errStale aborts a password update when the account moved on since the
// link was issued or the current password was checked.
var errStale = errors.New("account: changed meanwhile")

// checkNewPassword applies the rules to a new password and its repetition,
// and returns the problem in words naming the field, or "".
func checkNewPassword(password, confirm, email string) string {
	switch {
	case password == "":
		return "password: enter a new password."
	case len(confirm) > passwords.MaxBytes:
		return "password_confirm: must be at most 1024 bytes."
	}
	if err := passwords.Check(password, email); err != nil {
		return err.Error()
	}
	if password != confirm {
		return "password_confirm: the two passwords differ; type the same password twice."
	}
	return ""
}

// hash makes the argon2id hash of password, with at most one hash per CPU
// running at a time.
func (h *Handler) hash(ctx context.Context, password string) (string, error) {
	select {
	case h.hashes <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-h.hashes }()
	return passwords.Hash(h.cfg.PasswordParams, password)
}

// verify checks password against the stored hash, under the same bound.
func (h *Handler) verify(ctx context.Context, hash, password string) (bool, error) {
	if hash == "" {
		return false, nil
	}
	select {
	case h.hashes <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-h.hashes }()
	ok, _, err := passwords.Verify(h.cfg.PasswordParams, hash, password)
	if errors.Is(err, passwords.ErrMalformedHash) {
		return false, nil
	}
	return ok, err
}

// passwordChange is one password being set, by whichever path.
type passwordChange struct {
	userID string
	hash   string
	// check runs inside the update, on the stored user; returning an error
	// aborts it (errStale when the account moved on).
	check func(storage.User) error
	// unlock clears a lockout: the user proved they hold the mailbox.
	unlock bool
	// keepSession is the session not to end ("" ends all).
	keepSession string
	via         string // for the log and audit: invite, reset, account
}

// setPassword stores a new password and does what follows any password
// change: the user's other sessions end, a lockout lifted by a reset is
// forgotten and audited, and the user is told by mail.
func (h *Handler) setPassword(ctx context.Context, r *http.Request, c passwordChange) (storage.User, error) {
	now := h.now()
	var wasLocked bool
	u, err := h.store.UpdateUser(ctx, c.userID, func(u storage.User) (storage.User, error) {
		if c.check != nil {
			if err := c.check(u); err != nil {
				return u, err
			}
		}
		u.PasswordHash = c.hash
		u.PasswordChangedAt = now
		u.UpdatedAt = now
		wasLocked = false
		if c.unlock && !u.PasswordResetDisabled && !u.LockedUntil.IsZero() {
			wasLocked = u.Locked(now)
			u.LockedUntil = time.Time{}
		}
		return u, nil
	})
	if err != nil {
		return storage.User{}, err
	}
	h.log.Info("account: password set", "user", u.ID, "via", c.via)

	// The password is set whatever happens below; failures are logged.
	if err := h.cfg.EndSessions(ctx, u.ID, c.keepSession); err != nil {
		h.log.Error("account: ending sessions after a password change", "user", u.ID, "err", err)
	}
	if c.unlock && h.cfg.ResetLockout != nil {
		if err := h.cfg.ResetLockout(ctx, u.ID); err != nil {
			h.log.Error("account: forgetting failed sign-ins after a reset", "user", u.ID, "err", err)
		}
	}
	if wasLocked {
		h.audit(ctx, r, u, "user.unlock", map[string]any{"via": "password_reset"})
	}
	h.send(ctx, mail.PasswordChanged, u.Email, mail.Data{
		Name: u.Name, Email: u.Email, Time: now, IP: web.ClientIP(r),
	})
	return u, nil
}

// send composes and sends one mail, logging rather than failing: the mail
// follows a change that already happened.
func (h *Handler) send(ctx context.Context, t mail.Template, to string, d mail.Data) {
	if err := h.sendErr(ctx, t, to, d); err != nil {
		h.log.Error("account: mail not sent", "template", t, "to", to, "err", err)
	}
}

func (h *Handler) sendErr(ctx context.Context, t mail.Template, to string, d mail.Data) error {
	d.Issuer = h.issuer
	m, err := mail.Compose(t, to, d)
	if err != nil {
		return err
	}
	return h.mail.Send(ctx, m)
}

// audit records a change the user made to their own account.
func (h *Handler) audit(ctx context.Context, r *http.Request, u storage.User, action string, details map[string]any) {
	e := storage.AuditEvent{
		PartnerID: u.PartnerID,
		Time:      h.now(),
		Actor:     u.ID,
		Action:    action,
		Target:    u.ID,
		Details:   details,
	}
	if r != nil {
		e.IP = web.ClientIP(r)
	}
	if err := h.store.AppendAudit(ctx, e); err != nil {
		h.log.Error("account: audit", "action", action, "user", u.ID, "err", err)
	}
}

// setPage is the data of password_set.html, the form an invitation or a
// reset link opens.
type setPage struct {
	Title  string
	Intro  string
	Action string
	Token  string
	Email  string
	CSRF   string
	Error  string
	MFA    bool // a second factor will be enrolled at the first sign-in
}

func (h *Handler) renderSet(w http.ResponseWriter, r *http.Request, status int, kind, token string, u storage.User, errText string) {
	p := setPage{
		Token: token,
		Email: u.Email,
		CSRF:  h.cfg.Secure.CSRFToken(w, r),
		Error: errText,
	}
	if kind == kindInvite {
		p.Title, p.Action = "Set your password", "/invite"
		p.Intro = "Welcome. Choose a password for your account to finish setting it up."
		p.MFA = h.mfaRequiredFor(r.Context(), u)
	} else {
		p.Title, p.Action = "Choose a new password", "/login/reset"
		p.Intro = "Choose a new password. Your other sessions will be signed out."
	}
	renderPage(w, status, "password_set", p)
}

// setByLink serves the POST of the set-password form for an invitation or
// a reset: it checks the form, uses the link up, and sets the password.
func (h *Handler) setByLink(w http.ResponseWriter, r *http.Request, kind string) {
	if !h.postForm(w, r) {
		return
	}
	if h.limited(w, r, limitSetPassword, web.ClientIP(r)) {
		return
	}
	ctx := r.Context()
	token := r.PostFormValue("token")
	rec, u, ok := h.liveLink(w, r, kind, token)
	if !ok {
		return
	}

	password, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	if problem := checkNewPassword(password, confirm, u.Email); problem != "" {
		h.renderSet(w, r, http.StatusBadRequest, kind, token, u, problem)
		return
	}
	hash, err := h.hash(ctx, password)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// Only now is the link used up: a refused password leaves it working.
	if _, err := h.take(ctx, token); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			h.deadLink(w, r, kind, token, rec, linkUsed)
			return
		}
		h.serverError(w, r, err)
		return
	}
	u, err = h.setPassword(ctx, r, passwordChange{
		userID: u.ID,
		hash:   hash,
		check: func(cur storage.User) error {
			if !strings.EqualFold(cur.Email, rec.AccountEmail) || !sameInstant(cur.PasswordChangedAt, rec.PasswordChangedAt) {
				return errStale
			}
			return nil
		},
		unlock: kind == kindReset,
		via:    kind,
	})
	switch {
	case errors.Is(err, errStale):
		h.deadLink(w, r, kind, token, rec, linkStale)
		return
	case errors.Is(err, storage.ErrNotFound):
		h.deadLink(w, r, kind, token, rec, linkUnknown)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	text := "Your new password is set and your other sessions are signed out. Sign in with it now."
	if kind == kindInvite {
		text = "Your password is set. Sign in to finish: where your account needs a second factor, you will set it up next."
	}
	message(w, http.StatusOK, "Password set", text, "Sign in", signInURL(u.Email))
}
