package admin

import (
	"bytes"
	"encoding/json"
	"net/http"

	"gatehouse/provider/web"
)

// GET /api/v1/partners/{p}/organizations?mapped=false
func (h *Handler) apiListOrganizations(w http.ResponseWriter, r *http.Request, a *actor) error {
	mapped, err := boolParam(r, "mapped")
	if err != nil {
		return err
	}
	orgs, err := h.listOrganizations(r.Context(), a, mapped)
	if err != nil {
		return err
	}
	out := struct {
		Organizations []organizationView `json:"organizations"`
	}{Organizations: make([]organizationView, 0, len(orgs))}
	for _, o := range orgs {
		out.Organizations = append(out.Organizations, orgView(o))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// POST /api/v1/partners/{p}/organizations: 201 with the organization.
func (h *Handler) apiCreateOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in orgIn
	if e := decodeJSON(w, r, &in, "mapped", "created_at", "partner"); e != nil {
		return e
	}
	o, err := h.createOrganization(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/partners/"+a.partner.ID+"/organizations/"+o.ID)
	web.WriteJSON(w, http.StatusCreated, orgView(o))
	return nil
}

// GET /api/v1/partners/{p}/organizations/{id}
func (h *Handler) apiGetOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	o, err := h.organization(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, orgView(o))
	return nil
}

// orgPatchBody is the JSON of PATCH .../organizations/{id}; saas_account
// "" or null unmaps.
type orgPatchBody struct {
	Name         *string         `json:"name"`
	CoManagement *bool           `json:"co_management"`
	SaaSAccount  json.RawMessage `json:"saas_account"`
}

// PATCH /api/v1/partners/{p}/organizations/{id}: 200 with the organization.
func (h *Handler) apiUpdateOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	var in orgPatchBody
	if e := decodeJSON(w, r, &in, orgReadOnly...); e != nil {
		return e
	}
	p := orgPatch{Name: in.Name, CoManagement: in.CoManagement}
	if in.SaaSAccount != nil {
		s := ""
		if !bytes.Equal(in.SaaSAccount, []byte("null")) {
			if err := json.Unmarshal(in.SaaSAccount, &s); err != nil {
				return errField("saas_account", "must be a string or null")
			}
		}
		p.SaaSAccount = &s
	}
	o, err := h.updateOrganization(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, orgView(o))
	return nil
}

// DELETE /api/v1/partners/{p}/organizations/{id}: 204; 409 while users
// belong to it.
func (h *Handler) apiDeleteOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.deleteOrganization(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
