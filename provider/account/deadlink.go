package account

import (
	"errors"
	"net/http"

	"gatehouse/storage"
)

// deadPage is the data of invite_expired.html: an invitation link that no
// longer works, with a button that mails a new one.
type deadPage struct {
	Text  string
	Token string
	CSRF  string
}

// deadLink answers a link that cannot be used, saying why and what to do:
// a new invitation (a button), a new reset link (/login/forgot), or the
// administrator.
func (h *Handler) deadLink(w http.ResponseWriter, r *http.Request, kind, token string, rec link, state linkState) {
	if kind == kindReset {
		h.deadReset(w, state)
		return
	}
	switch state {
	case linkMalformed:
		message(w, http.StatusBadRequest, "Link not valid",
			"This invitation link is incomplete or malformed (token). Copy the whole link from the mail, or ask your administrator for a new invitation.", "", "")
		return
	case linkUnknown:
		message(w, http.StatusBadRequest, "Link not valid",
			"This invitation link is not valid. Ask your administrator for a new invitation.", "", "")
		return
	case linkRefused:
		message(w, http.StatusForbidden, "Invitation not available",
			"This account cannot be set up with an invitation link (it is not active, or it signs in through your company's account). Ask your administrator.", "", "")
		return
	}

	// Used, expired or superseded: if the account is set up, say so; if not,
	// offer a new invitation to the address on file.
	u, err := h.store.GetUser(r.Context(), rec.UserID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	if err == nil && u.PasswordHash != "" {
		message(w, http.StatusGone, "Invitation already used",
			"This invitation was already used and your account is set up. Sign in, or reset your password if you forgot it.", "Sign in", signInURL(u.Email))
		return
	}
	text := "This invitation link was already used, or a newer invitation replaced it."
	if state == linkExpired {
		text = "This invitation link has expired: invitations are valid for 72 hours."
	}
	renderPage(w, http.StatusGone, "invite_expired", deadPage{
		Text:  text,
		Token: token,
		CSRF:  h.cfg.Secure.CSRFToken(w, r),
	})
}

func (h *Handler) deadReset(w http.ResponseWriter, state linkState) {
	const again, forgot = "Ask for a new link", "/login/forgot"
	switch state {
	case linkMalformed:
		message(w, http.StatusBadRequest, "Link not valid",
			"This reset link is incomplete or malformed (token). Copy the whole link from the mail, or ask for a new one.", again, forgot)
	case linkUnknown:
		message(w, http.StatusBadRequest, "Link not valid", "This reset link is not valid.", again, forgot)
	case linkExpired:
		message(w, http.StatusGone, "Link expired", "This reset link has expired: reset links are valid for one hour.", again, forgot)
	case linkRefused:
		message(w, http.StatusForbidden, "Reset not available",
			"The password of this account cannot be reset with a link. Ask your administrator.", "", "")
	default: // used, superseded, or the password or address changed since
		message(w, http.StatusGone, "Link already used",
			"This reset link was already used, a newer one replaced it, or the password changed since it was sent.", again, forgot)
	}
}
