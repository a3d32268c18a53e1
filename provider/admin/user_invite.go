package admin

import (
	"context"
	"net/http"
)

// InviteRefusal says why Config.Reinvites refused to send an invitation,
// as Config.InviteRefusal reads its error.
type InviteRefusal int

const (
	// InviteFailed: not a refusal; the invitation could not be sent.
	InviteFailed InviteRefusal = iota
	// InviteSetUp: the user has already set a password; they sign in, or
	// reset it.
	InviteSetUp
	// InviteInactive: the user may not sign in, so is not invited.
	InviteInactive
)

// resendInvite mails a user the caller outranks a fresh invitation; the
// previous link stops working. A user who has set a password is a 409 and
// an inactive one a 422 naming active; neither is recorded, as nothing was
// sent. A sent invitation, or one that failed, is audited as user.invite.
func (h *Handler) resendInvite(ctx context.Context, a *actor, id string) error {
	u, err := h.managed(ctx, a, id)
	if err != nil {
		return err
	}
	if h.cfg.Reinvites == nil {
		return errNotAvailable("invitations are not set up on this server")
	}
	err = h.cfg.Reinvites.ResendInvite(ctx, u)
	refusal := InviteFailed
	if err != nil && h.cfg.InviteRefusal != nil {
		refusal = h.cfg.InviteRefusal(err)
	}
	switch {
	case err == nil:
	case refusal == InviteSetUp:
		return errConflict("the user has already set a password: they sign in, or reset it from the sign-in page")
	case refusal == InviteInactive:
		return errField("active", "the user is not active; activate them before sending an invitation")
	default:
		h.log.WarnContext(ctx, "admin: invitation not resent", "user", u.ID, "err", err)
	}
	result := "sent"
	if err != nil {
		result = "failed"
	}
	// As for the invitation sent at creation: the mail is out either way,
	// so a lost entry is logged rather than reported as a failure.
	if aerr := h.audit(ctx, h.store, a, "user.invite", u.ID, map[string]any{
		"target_email": u.Email, "result": result, "resend": true,
	}); aerr != nil {
		h.log.WarnContext(ctx, "admin: audit of invitation failed", "user", u.ID, "err", aerr)
	}
	return err
}

// POST /api/v1/partners/{p}/users/{id}/invite: 204 once the invitation is
// on its way.
func (h *Handler) apiResendInvite(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.resendInvite(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /admin/users/{id}/invite: the same resendInvite as the API.
func (h *Handler) consoleResendInvite(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.userAction(w, r, a, "invited", func(id string) error { return h.resendInvite(r.Context(), a, id) })
}
