package admin

import (
	"net/http"

	"gatehouse/provider/web"
)

// PUT /api/v1/partners/{p}/users/{id}/notifications: replaces the
// preferences; absent types are off, frequency is required. A type the
// user's role may not receive is a 422 naming it.
func (h *Handler) apiPutNotifications(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in notificationsIn
	if e := decodeJSON(w, r, &in); e != nil {
		return e
	}
	n, err := h.setNotifications(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, n)
	return nil
}

// GET /api/v1/partners/{p}/users/{id}/notifications
func (h *Handler) apiGetNotifications(w http.ResponseWriter, r *http.Request, a *actor) error {
	n, err := h.notifications(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, n)
	return nil
}
