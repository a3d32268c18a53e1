package admin

import (
	"net/http"

	"gatehouse/provider/web"
)

// POST /api/v1/partners/{p}/users/{id}/unlock: 204.
func (h *Handler) apiUnlock(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.unlock(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /api/v1/partners/{p}/users/{id}/mfa/pause {"until", "reason"}: 200
// with the pause.
func (h *Handler) apiPauseMFA(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in pauseIn
	if e := decodeJSON(w, r, &in); e != nil {
		return e
	}
	p, err := h.pauseMFA(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, p)
	return nil
}

// DELETE /api/v1/partners/{p}/users/{id}/mfa/pause: 204.
func (h *Handler) apiEndPause(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.endPause(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DELETE /api/v1/partners/{p}/users/{id}/mfa: 200 {"removed": N}.
func (h *Handler) apiResetMFA(w http.ResponseWriter, r *http.Request, a *actor) error {
	n, err := h.resetMFA(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]int{"removed": n})
	return nil
}
