package admin

import (
	"net/http"

	"gatehouse/provider/web"
)

// userList is a page of users.
type userList struct {
	Users         []userView `json:"users"`
	NextPageToken string     `json:"next_page_token"`
}

// GET /api/v1/partners/{p}/users?kind=&role=&q=&organization=&page_token=&limit=
func (h *Handler) apiListUsers(w http.ResponseWriter, r *http.Request, a *actor) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	users, next, err := h.listUsers(r.Context(), a, userQuery{Kind: q.Get("kind"), Role: q.Get("role"),
		Q: q.Get("q"), Organization: q.Get("organization"), Page: page})
	if err != nil {
		return err
	}
	views, err := h.views(r.Context(), a.partner, users)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, userList{Users: views, NextPageToken: next})
	return nil
}

// POST /api/v1/partners/{p}/users
func (h *Handler) apiCreateUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in newUser
	if e := decodeJSON(w, r, &in, createReadOnly...); e != nil {
		return e
	}
	u, err := h.createUser(r.Context(), a, in)
	if err != nil {
		return err
	}
	v, err := h.view(r.Context(), a.partner, u, false)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/partners/"+a.partner.ID+"/users/"+u.ID)
	web.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// GET /api/v1/partners/{p}/users/{id}
func (h *Handler) apiGetUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	u, err := h.target(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := h.view(r.Context(), a.partner, u, true)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, v)
	return nil
}

// PATCH /api/v1/partners/{p}/users/{id}: 200 with the user. A new email is
// not applied until confirmed: the answer keeps the old one and shows the
// new as pending_email.
func (h *Handler) apiUpdateUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in userPatch
	if e := decodeJSON(w, r, &in, patchReadOnly...); e != nil {
		return e
	}
	u, err := h.updateUser(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	v, err := h.view(r.Context(), a.partner, u, true)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, v)
	return nil
}

// DELETE /api/v1/partners/{p}/users/{id}: 204.
func (h *Handler) apiDeleteUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.deleteUser(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
