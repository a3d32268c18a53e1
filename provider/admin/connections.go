package admin

import (
	"net/http"

	"gatehouse/provider/web"
)

// GET /api/v1/partners/{p}/connections
func (h *Handler) apiListConnections(w http.ResponseWriter, r *http.Request, a *actor) error {
	cs, err := h.listConnections(r.Context(), a)
	if err != nil {
		return err
	}
	out := struct {
		Connections []connectionView `json:"connections"`
	}{Connections: make([]connectionView, 0, len(cs))}
	for _, c := range cs {
		out.Connections = append(out.Connections, connView(c))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// POST /api/v1/partners/{p}/connections: 201 with the connection, without
// its secret.
func (h *Handler) apiCreateConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in connIn
	if e := decodeJSON(w, r, &in, "partner", "client_secret_set", "created_at"); e != nil {
		return e
	}
	c, err := h.createConnection(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/partners/"+a.partner.ID+"/connections/"+c.ID)
	web.WriteJSON(w, http.StatusCreated, connView(c))
	return nil
}

// GET /api/v1/partners/{p}/connections/{id}
func (h *Handler) apiGetConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	c, err := h.connection(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, connView(c))
	return nil
}

// PATCH /api/v1/partners/{p}/connections/{id}
func (h *Handler) apiUpdateConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in connPatch
	if e := decodeJSON(w, r, &in, connReadOnly...); e != nil {
		return e
	}
	c, err := h.updateConnection(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, connView(c))
	return nil
}

// DELETE /api/v1/partners/{p}/connections/{id}: 204.
func (h *Handler) apiDeleteConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.deleteConnection(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
