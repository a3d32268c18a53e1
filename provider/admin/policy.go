package admin

import (
	"net/http"

	"gatehouse/provider/web"
)

// GET /api/v1/partners/{p}/users/{id}/policy: the user's effective sign-in
// policy and the reason for each part.
func (h *Handler) apiUserPolicy(w http.ResponseWriter, r *http.Request, a *actor) error {
	p, err := h.policyOf(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, p)
	return nil
}
