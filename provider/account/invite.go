package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gatehouse/mail"
	"gatehouse/provider/policy"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// ErrAlreadySetUp is ResendInvite's answer for a user who has set a
// password already: they sign in, or reset it.
var ErrAlreadySetUp = errors.New("account: the user has already set a password")

// ErrInactive is ResendInvite's answer for a user who may not sign in.
var ErrInactive = errors.New("account: the user is not active")

// Invite mails a new user their invitation (INTERFACE.md section 9): a
// one-time link, valid 72 hours, to set their password; and tells the
// partner's primary address about the account, without the link. A user
// whose sign-in goes through their partner's connection (sso) gets a
// welcome with the sign-in address instead of a link. An inactive user is
// not mailed; ResendInvite invites them once they are active.
func (h *Handler) Invite(ctx context.Context, u storage.User) error {
	u, err := h.store.GetUser(ctx, u.ID) // as stored: the link pins its state
	if err != nil {
		return err
	}
	if !u.Active {
		h.log.Info("account: inactive user not invited", "user", u.ID)
		return nil
	}
	p, err := h.partnerOf(ctx, u)
	if err != nil {
		return err
	}
	if err := h.mailInvitation(ctx, u, p); err != nil {
		return err
	}
	if p.PrimaryEmail != "" && !strings.EqualFold(p.PrimaryEmail, u.Email) {
		if err := h.sendErr(ctx, mail.NewAccount, p.PrimaryEmail, mail.Data{
			Name: u.Name, Email: u.Email, Partner: p.Name, Role: u.Role,
		}); err != nil {
			return fmt.Errorf("account: new-account notice: %w", err)
		}
	}
	return nil
}

// ResendInvite mails the user a fresh invitation; the previous link stops
// working. It refuses a user who has set a password (ErrAlreadySetUp) or
// is inactive (ErrInactive).
func (h *Handler) ResendInvite(ctx context.Context, u storage.User) error {
	u, err := h.store.GetUser(ctx, u.ID)
	if err != nil {
		return err
	}
	switch {
	case !u.Active:
		return ErrInactive
	case u.PasswordHash != "":
		return ErrAlreadySetUp
	}
	p, err := h.partnerOf(ctx, u)
	if err != nil {
		return err
	}
	return h.mailInvitation(ctx, u, p)
}

func (h *Handler) partnerOf(ctx context.Context, u storage.User) (storage.Partner, error) {
	p, err := h.store.GetPartner(ctx, u.PartnerID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Partner{}, nil
	}
	return p, err
}

func (h *Handler) mailInvitation(ctx context.Context, u storage.User, p storage.Partner) error {
	d := mail.Data{
		Name: u.Name, Email: u.Email, Partner: p.Name, Role: u.Role,
		MFARequired: mfaRequired(u, p),
	}
	if !u.SSO {
		token, err := h.issue(ctx, kindInvite, u, "")
		if err != nil {
			return err
		}
		d.Link, d.ValidFor = h.linkURL(kindInvite, token), validFor(kindInvite)
	}
	if err := h.sendErr(ctx, mail.Invite, u.Email, d); err != nil {
		return fmt.Errorf("account: invitation: %w", err)
	}
	return nil
}

// mfaRequired says whether the user will have to enrol a second factor.
func mfaRequired(u storage.User, p storage.Partner) bool {
	return policy.MFARequirement(policy.MFAInput{
		Kind: string(u.Kind), Role: u.Role, PartnerRequiresMFA: p.RequireMFA,
	}).Required
}

func (h *Handler) mfaRequiredFor(ctx context.Context, u storage.User) bool {
	p, err := h.partnerOf(ctx, u)
	if err != nil {
		return false // only a note on the page
	}
	return mfaRequired(u, p)
}

// showInvite is GET /invite?token=: the set-password form when the link
// is good, without using it up.
func (h *Handler) showInvite(w http.ResponseWriter, r *http.Request) {
	h.showLink(w, r, kindInvite)
}

// acceptInvite is POST /invite: sets the first password.
func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	h.setByLink(w, r, kindInvite)
}

func (h *Handler) showLink(w http.ResponseWriter, r *http.Request, kind string) {
	token := r.URL.Query().Get("token")
	_, u, ok := h.liveLink(w, r, kind, token)
	if !ok {
		return
	}
	h.renderSet(w, r, http.StatusOK, kind, token, u, "")
}

// resendInvite is POST /invite/resend, the button on a used or expired
// invitation: it mails a fresh invitation to the address on file.
func (h *Handler) resendInvite(w http.ResponseWriter, r *http.Request) {
	if !h.postForm(w, r) {
		return
	}
	if h.limited(w, r, limitInvite, web.ClientIP(r)) {
		return
	}
	ctx := r.Context()
	token := r.PostFormValue("token")
	rec, state, err := h.peek(ctx, kindInvite, token)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if state == linkMalformed || state == linkUnknown {
		h.deadLink(w, r, kindInvite, token, rec, state)
		return
	}
	u, err := h.store.GetUser(ctx, rec.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		h.deadLink(w, r, kindInvite, token, rec, linkUnknown)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if h.limited(w, r, limitInviteUser, u.ID) {
		return
	}
	switch err := h.ResendInvite(ctx, u); {
	case errors.Is(err, ErrAlreadySetUp):
		message(w, http.StatusConflict, "Already set up",
			"This account has a password already. Sign in, or reset the password if you forgot it.", "Sign in", signInURL(u.Email))
	case errors.Is(err, ErrInactive):
		message(w, http.StatusForbidden, "Account not active",
			"This account is not active, so no invitation can be sent. Ask your administrator.", "", "")
	case err != nil:
		h.serverError(w, r, err)
	default:
		message(w, http.StatusOK, "Invitation sent",
			"We sent a new invitation to the address on file. Open the newest mail; its link is valid for 72 hours and the older ones no longer work.", "", "")
	}
}
