package admin

import (
	"net/http"
	"net/url"
	"strings"

	"gatehouse/storage"
	"gatehouse/templates"
)

// usersPage is a console list of users of one kind.
type usersPage struct {
	base
	Heading, Intro string
	Path           string // the list's own URL, for the search form
	Kind           string
	Tabs           []link // clients: Clients | Organization users
	Q              string
	Organization   string
	Rows           []userRow
	FirstURL       string
	NextURL        string
	AddURL         string
	AddLabel       string
	ShowOrg        bool
	ShowUsername   bool
	Domain         string
}

type userRow struct {
	URL, Name, Email, Username, Role, Organization string
	Badges                                         []string
}

func (h *Handler) consoleEmployees(w http.ResponseWriter, r *http.Request, a *actor) error {
	if a.orgScope() != "" {
		return errNotFound("page")
	}
	return h.userListPage(w, r, a, usersPage{Heading: "Manage Employees", Path: "/admin/employees",
		Intro: "Employees work for your company and sign in to every service with the same email and password.",
		Kind:  string(storage.KindEmployee), AddLabel: "Add employee"})
}

func (h *Handler) consoleClients(w http.ResponseWriter, r *http.Request, a *actor) error {
	p := usersPage{Heading: "Clients", Path: "/admin/clients", Kind: string(storage.KindClient), AddLabel: "Add client", ShowOrg: true,
		Intro: "Clients are people at your customer companies; organization users administer their own organization's account."}
	if r.URL.Query().Get("kind") == string(storage.KindOrgUser) {
		p.Kind, p.AddLabel = string(storage.KindOrgUser), "Add organization user"
	}
	p.Tabs = []link{
		{Label: "Clients", URL: "/admin/clients", Current: p.Kind == string(storage.KindClient)},
		{Label: "Organization users", URL: "/admin/clients?kind=org_user", Current: p.Kind == string(storage.KindOrgUser)},
	}
	return h.userListPage(w, r, a, p)
}

func (h *Handler) consoleCoManaging(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.userListPage(w, r, a, usersPage{Heading: "Co-managing users", Path: "/admin/co-managing",
		Intro: "Co-managing users are contacts at an organization with co-management. They sign in as username@" +
			a.partner.Domain + " and always with a second factor, which you can pause for one sign-in or 24 hours.",
		Kind: string(storage.KindCoManaging), AddLabel: "Add co-managing user", ShowOrg: true, ShowUsername: true})
}

func (h *Handler) userListPage(w http.ResponseWriter, r *http.Request, a *actor, p usersPage) error {
	q := r.URL.Query()
	p.Q, p.Organization = strings.TrimSpace(q.Get("q")), q.Get("organization")
	users, next, err := h.listUsers(r.Context(), a, userQuery{Kind: p.Kind, Q: p.Q, Organization: p.Organization,
		Page: storage.Page{Token: q.Get("page_token"), Limit: 50}})
	if err != nil {
		return err
	}
	p.base = h.newBase(w, r, a, p.Heading, p.Path)
	p.Domain = a.partner.Domain
	now := h.now()
	for _, u := range users {
		row := userRow{URL: "/admin/users/" + url.PathEscape(u.ID), Name: u.Name, Email: u.Email, Username: u.Username,
			Role: u.Role, Organization: u.OrganizationID}
		if !u.Active {
			row.Badges = append(row.Badges, "Inactive")
		}
		if u.Locked(now) {
			row.Badges = append(row.Badges, "Locked")
		}
		if u.SSO {
			row.Badges = append(row.Badges, "SSO")
		}
		if u.MFAPauseNextLogin || u.MFAPauseUntil.After(now) {
			row.Badges = append(row.Badges, "2FA paused")
		}
		p.Rows = append(p.Rows, row)
	}
	params := url.Values{}
	for k, v := range map[string]string{"q": p.Q, "organization": p.Organization} {
		if v != "" {
			params.Set(k, v)
		}
	}
	if p.Kind == string(storage.KindOrgUser) {
		params.Set("kind", p.Kind)
	}
	if q.Get("page_token") != "" {
		p.FirstURL = p.Path + "?" + params.Encode()
	}
	if next != "" {
		params.Set("page_token", next)
		p.NextURL = p.Path + "?" + params.Encode()
	}
	if len(h.roleOptions(a, storage.UserKind(p.Kind), "")) > 0 {
		add := url.Values{"kind": {p.Kind}}
		if p.Organization != "" {
			add.Set("organization", p.Organization)
		}
		p.AddURL = "/admin/users/new?" + add.Encode()
	}
	templates.Render(w, http.StatusOK, "admin_users", p)
	return nil
}

// roleOptions are the roles a may give a user of kind; selected is marked.
func (h *Handler) roleOptions(a *actor, kind storage.UserKind, selected string) []option {
	var out []option
	for _, role := range h.roles.Assignable(a.user.Role) {
		if kindAllowsRole(kind, role.Name) && h.mayCreateKind(a, kind) {
			out = append(out, option{Value: role.Name, Label: role.Name, Selected: role.Name == selected})
		}
	}
	return out
}

// newUserPage is the form that adds a user of one kind.
type newUserPage struct {
	base
	Kind, KindLabel string
	Roles           []option
	Organizations   []option
	Form            newUser
	Active          bool
	SSO             bool
	ResetDisabled   bool
	NeedsOrg        bool
	NeedsUsername   bool
	Domain          string
	HasConnection   bool
	CancelURL       string
}

var kindLabels = map[storage.UserKind]string{
	storage.KindEmployee: "employee", storage.KindClient: "client",
	storage.KindOrgUser: "organization user", storage.KindCoManaging: "co-managing user",
}

var kindLists = map[storage.UserKind]string{
	storage.KindEmployee: "/admin/employees", storage.KindClient: "/admin/clients",
	storage.KindOrgUser: "/admin/clients?kind=org_user", storage.KindCoManaging: "/admin/co-managing",
}

func (h *Handler) consoleNewUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	kind := storage.UserKind(r.URL.Query().Get("kind"))
	if !kind.Valid() {
		return errNotFound("page")
	}
	return h.renderNewUser(w, r, a, http.StatusOK, "", newUser{Kind: string(kind), Organization: r.URL.Query().Get("organization")})
}

func (h *Handler) renderNewUser(w http.ResponseWriter, r *http.Request, a *actor, status int, msg string, form newUser) error {
	kind := storage.UserKind(form.Kind)
	if !kind.Valid() {
		return errNotFound("page")
	}
	roles := h.roleOptions(a, kind, form.Role)
	if len(roles) == 0 {
		return errForbidden("you may not add " + kindLabels[kind] + "s")
	}
	p := newUserPage{Kind: string(kind), KindLabel: kindLabels[kind], Roles: roles, Form: form,
		Active:        form.Active == nil || *form.Active,
		SSO:           form.SSO != nil && *form.SSO,
		ResetDisabled: form.PasswordResetDisabled != nil && *form.PasswordResetDisabled,
		NeedsOrg:      kind != storage.KindEmployee, NeedsUsername: kind == storage.KindCoManaging,
		Domain: a.partner.Domain, CancelURL: kindLists[kind]}
	p.base = h.newBase(w, r, a, "Add "+p.KindLabel, strings.SplitN(kindLists[kind], "?", 2)[0])
	p.Error = msg
	if p.NeedsOrg {
		orgs, err := h.listOrganizations(r.Context(), a, nil)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			if kind == storage.KindCoManaging && !o.CoManagement {
				continue // only organizations with co-management take co-managing users
			}
			p.Organizations = append(p.Organizations, option{Value: o.ID, Label: o.Name, Selected: o.ID == form.Organization})
		}
	}
	conns, err := h.store.ListConnections(r.Context(), a.partner.ID)
	if err != nil {
		return err
	}
	p.HasConnection = len(conns) > 0
	templates.Render(w, status, "admin_user_new", p)
	return nil
}

// POST /admin/users: the same createUser as POST /api/v1/.../users.
func (h *Handler) consoleCreateUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	f := r.PostFormValue
	in := newUser{Kind: f("kind"), Email: f("email"), Name: f("name"), Role: f("role"), Phone: f("phone"),
		Username: f("username"), Organization: f("organization"),
		Active: formBool(r, "active"), SSO: formBool(r, "sso"), PasswordResetDisabled: formBool(r, "password_reset_disabled")}
	u, err := h.createUser(r.Context(), a, in)
	if err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderNewUser(w, r, a, status, msg, in)
	}
	redirect(w, r, "/admin/users/"+url.PathEscape(u.ID), "created")
	return nil
}
