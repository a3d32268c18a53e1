package admin

import (
	"net/http"
	"net/url"

	"gatehouse/templates"
)

// orgsPage lists organizations, with the banner of the unmapped ones.
type orgsPage struct {
	base
	Unmapped     []orgRow
	Rows         []orgRow
	OnlyUnmapped bool
	CanWrite     bool
	Form         orgIn
}

type orgRow struct {
	URL, ID, Name, SaaSAccount string
	CoManagement, Mapped       bool
}

func toRow(o organizationView) orgRow {
	return orgRow{URL: "/admin/organizations/" + url.PathEscape(o.ID), ID: o.ID, Name: o.Name, SaaSAccount: o.SaaSAccount,
		CoManagement: o.CoManagement, Mapped: o.Mapped}
}

func (h *Handler) consoleOrganizations(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.renderOrganizations(w, r, a, http.StatusOK, "", orgIn{})
}

func (h *Handler) renderOrganizations(w http.ResponseWriter, r *http.Request, a *actor, status int, msg string, form orgIn) error {
	orgs, err := h.listOrganizations(r.Context(), a, nil)
	if err != nil {
		return err
	}
	p := orgsPage{OnlyUnmapped: r.URL.Query().Get("mapped") == "false", CanWrite: h.mayWriteOrgs(a), Form: form}
	p.base = h.newBase(w, r, a, "Organizations", "/admin/organizations")
	p.Error = msg
	for _, o := range orgs {
		row := toRow(orgView(o))
		if !row.Mapped {
			p.Unmapped = append(p.Unmapped, row)
		}
		if !p.OnlyUnmapped || !row.Mapped {
			p.Rows = append(p.Rows, row)
		}
	}
	templates.Render(w, status, "admin_organizations", p)
	return nil
}

// POST /admin/organizations: the same createOrganization as the API.
func (h *Handler) consoleCreateOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	f := r.PostFormValue
	in := orgIn{ID: f("id"), Name: f("name"), SaaSAccount: f("saas_account"), CoManagement: f("co_management") != ""}
	o, err := h.createOrganization(r.Context(), a, in)
	if err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderOrganizations(w, r, a, status, msg, in)
	}
	redirect(w, r, "/admin/organizations/"+url.PathEscape(o.ID), "org_created")
	return nil
}

// orgPage is one organization with its forms.
type orgPage struct {
	base
	O             orgRow
	Path          string
	CanWrite      bool
	Form          orgIn
	ConfirmDelete bool
	ClientsURL    string
	CoManagingURL string
}

func (h *Handler) consoleOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.renderOrganization(w, r, a, http.StatusOK, "", nil, false)
}

func (h *Handler) consoleConfirmDeleteOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	if !h.mayWriteOrgs(a) {
		return errNoOrgWrite
	}
	return h.renderOrganization(w, r, a, http.StatusOK, "", nil, true)
}

func (h *Handler) renderOrganization(w http.ResponseWriter, r *http.Request, a *actor, status int, msg string, form *orgIn, confirmDelete bool) error {
	id := r.PathValue("id")
	o, err := h.organization(r.Context(), a, id)
	if err != nil {
		return err
	}
	q := url.Values{"organization": {o.ID}}.Encode()
	p := orgPage{O: toRow(orgView(o)), Path: "/admin/organizations/" + url.PathEscape(o.ID), CanWrite: h.mayWriteOrgs(a),
		ConfirmDelete: confirmDelete, ClientsURL: "/admin/clients?" + q, CoManagingURL: "/admin/co-managing?" + q,
		Form: orgIn{ID: o.ID, Name: o.Name, SaaSAccount: o.SaaSAccount, CoManagement: o.CoManagement}}
	if form != nil {
		p.Form = *form
	}
	p.base = h.newBase(w, r, a, o.Name, "/admin/organizations")
	p.Error = msg
	templates.Render(w, status, "admin_organization", p)
	return nil
}

// POST /admin/organizations/{id}: the same updateOrganization as PATCH. An
// empty SaaS account unmaps.
func (h *Handler) consoleUpdateOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	f := r.PostFormValue
	co := f("co_management") != ""
	in := orgPatch{Name: formPtr(r, "name"), SaaSAccount: formPtr(r, "saas_account"), CoManagement: &co}
	id := r.PathValue("id")
	if _, err := h.updateOrganization(r.Context(), a, id, in); err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderOrganization(w, r, a, status, msg, &orgIn{ID: id, Name: f("name"), SaaSAccount: f("saas_account"), CoManagement: co}, false)
	}
	redirect(w, r, "/admin/organizations/"+url.PathEscape(id), "saved")
	return nil
}

// POST /admin/organizations/{id}/delete
func (h *Handler) consoleDeleteOrganization(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.deleteOrganization(r.Context(), a, r.PathValue("id")); err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderOrganization(w, r, a, status, msg, nil, false)
	}
	redirect(w, r, "/admin/organizations", "org_deleted")
	return nil
}
