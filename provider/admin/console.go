package admin

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"gatehouse/provider/web"
	"gatehouse/storage"
	"gatehouse/templates"
)

// The console (/admin) is the API through pages: every form posts to a
// handler that calls the same service method as the API, then redirects
// (POST, redirect, GET), or shows the form again with the refusal.

func (h *Handler) mountConsole(mux *http.ServeMux) {
	routes := []struct {
		pattern string
		fn      pageFunc
	}{
		{"GET /admin", h.consoleHome},
		{"GET /admin/{$}", h.consoleHome},
		{"GET /admin/employees", h.consoleEmployees},
		{"GET /admin/clients", h.consoleClients},
		{"GET /admin/co-managing", h.consoleCoManaging},
		{"GET /admin/users/new", h.consoleNewUser},
		{"POST /admin/users", h.consoleCreateUser},
		{"GET /admin/users/{id}", h.consoleUser},
		{"POST /admin/users/{id}", h.consoleUpdateUser},
		{"GET /admin/users/{id}/delete", h.consoleConfirmDelete},
		{"POST /admin/users/{id}/delete", h.consoleDeleteUser},
		{"POST /admin/users/{id}/unlock", h.consoleUnlock},
		{"POST /admin/users/{id}/mfa/pause", h.consolePause},
		{"POST /admin/users/{id}/mfa/pause/end", h.consoleEndPause},
		{"POST /admin/users/{id}/mfa/reset", h.consoleResetMFA},
		{"POST /admin/users/{id}/notifications", h.consoleNotifications},
		{"GET /admin/organizations", h.consoleOrganizations},
		{"POST /admin/organizations", h.consoleCreateOrganization},
		{"GET /admin/organizations/{id}", h.consoleOrganization},
		{"POST /admin/organizations/{id}", h.consoleUpdateOrganization},
		{"GET /admin/organizations/{id}/delete", h.consoleConfirmDeleteOrganization},
		{"POST /admin/organizations/{id}/delete", h.consoleDeleteOrganization},
		{"GET /admin/connections", h.consoleConnections},
		{"POST /admin/connections", h.consoleCreateConnection},
		{"GET /admin/connections/{id}", h.consoleConnection},
		{"POST /admin/connections/{id}", h.consoleUpdateConnection},
		{"GET /admin/connections/{id}/delete", h.consoleConfirmDeleteConnection},
		{"POST /admin/connections/{id}/delete", h.consoleDeleteConnection},
		{"POST /admin/connections/{id}/test", h.consoleTestConnection},
		{"POST /admin/users/{id}/invite", h.consoleResendInvite},
		{"GET /admin/audit", h.consoleAudit},
	}
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, h.page(rt.fn))
	}
	mux.HandleFunc("/admin/", h.page(func(http.ResponseWriter, *http.Request, *actor) error {
		return errNotFound("page")
	}))
}

// pageFunc is a console page or form handler, called with its signed-in
// caller; a form's CSRF token is already checked.
type pageFunc func(w http.ResponseWriter, r *http.Request, a *actor) error

// page signs the browser's user in through the SSO session, checks CSRF
// on every POST, admits only roles that manage someone, and shows fn's
// error as a page.
func (h *Handler) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		web.PageHeaders(w.Header())
		a, err := h.sessionActor(r)
		if err != nil {
			if errors.Is(err, errNoActor) {
				h.toLogin(w, r)
				return
			}
			h.pageError(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if err := r.ParseForm(); err != nil {
				h.pageError(w, r, errBadRequest("the form could not be read"))
				return
			}
			if !web.CheckCSRF(r) {
				templates.RenderMessage(w, http.StatusForbidden, templates.Message{Title: "Form expired",
					Text:     "This form was not accepted because it expired or came from elsewhere. Go back, reload the page and try again.",
					LinkText: "Back to the console", LinkURL: "/admin"})
				return
			}
		}
		if !h.mayReadUsers(a) {
			templates.RenderMessage(w, http.StatusForbidden, templates.Message{Title: "No administration rights",
				Text:     "Your role does not manage any users, so the administration console has nothing for you.",
				LinkText: "Your account", LinkURL: "/account"})
			return
		}
		if err := fn(w, r, a); err != nil {
			h.pageError(w, r, err)
		}
	}
}

func (h *Handler) sessionActor(r *http.Request) (*actor, error) {
	if h.cfg.CurrentUser == nil {
		return nil, errNoActor
	}
	id, ok := h.cfg.CurrentUser(r)
	if !ok {
		return nil, errNoActor
	}
	return h.loadActor(r.Context(), id, r)
}

// toLogin sends the browser to sign in and come back: to the page it
// asked for, or to the console's start after a form post.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	back := "/admin"
	if r.Method == http.MethodGet {
		back = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?return_to="+url.QueryEscape(back), http.StatusSeeOther)
}

// pageError shows an error as a short page; the detail of a server error
// goes to the log only.
func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, err error) {
	e := h.apiError(r.Context(), err)
	m := templates.Message{Title: "Something went wrong", Text: "The request could not be completed. Try again shortly.",
		LinkText: "Back to the console", LinkURL: "/admin"}
	switch e.Status {
	case http.StatusNotFound:
		m.Title, m.Text = "Not found", "There is nothing here, or it is not yours to see."
	case http.StatusForbidden:
		m.Title, m.Text = "Not allowed", "Your role may not do this: "+e.Description+"."
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusConflict:
		m.Title, m.Text = "Not accepted", e.Description
	case http.StatusNotImplemented:
		m.Title, m.Text = "Not available", "Not available here: "+e.Description+"."
	}
	templates.RenderMessage(w, e.Status, m)
}

// base is what every console page shows around its content.
type base struct {
	Title  string
	Me     storage.User
	Nav    []link
	CSRF   string
	Notice string
	Error  string
}

type link struct {
	Label, URL string
	Current    bool
}

// option is one <option> of a <select>.
type option struct {
	Value, Label string
	Selected     bool
}

// newBase fills the common parts of a page; current is the URL of the nav
// entry the page belongs to.
func (h *Handler) newBase(w http.ResponseWriter, r *http.Request, a *actor, title, current string) base {
	b := base{Title: title, Me: a.user, CSRF: h.cfg.Secure.CSRFToken(w, r), Notice: doneText[r.URL.Query().Get("done")]}
	add := func(label, url string, ok bool) {
		if ok {
			b.Nav = append(b.Nav, link{Label: label, URL: url, Current: url == current})
		}
	}
	add("Manage Employees", "/admin/employees", a.orgScope() == "")
	add("Clients", "/admin/clients", true)
	add("Co-managing users", "/admin/co-managing", true)
	add("Organizations", "/admin/organizations", h.mayReadOrgs(a))
	add("Connections", "/admin/connections", h.mayConnections(a))
	add("Audit log", "/admin/audit", h.mayReadAudit(a))
	return b
}

// doneText are the notices shown after a form succeeded, by the done=
// parameter of the redirect (fixed texts: nothing from the query is shown).
var doneText = map[string]string{
	"created":       "Created. The invitation to set a password is on its way.",
	"saved":         "Changes saved.",
	"email_pending": "Changes saved. The new email address takes effect once its owner confirms it.",
	"deleted":       "Deleted. Their sessions have ended.",
	"unlocked":      "Unlocked. They can sign in again.",
	"paused":        "Second factor paused. The user has been told by email.",
	"pause_ended":   "Pause ended. The second factor is required again.",
	"reset":         "Second factors removed. Where one is required, they enrol again at their next sign-in.",
	"notifications": "Notification preferences saved.",
	"org_created":   "Organization created.",
	"org_deleted":   "Organization deleted.",
	"invited":       "A new invitation is on its way; the previous link no longer works.",
	"conn_created":  "Connection created. Test it before you switch users to SSO.",
	"conn_deleted":  "Connection deleted.",
}

// redirect finishes a successful form: back to a page, with a notice.
func redirect(w http.ResponseWriter, r *http.Request, path, done string) {
	http.Redirect(w, r, path+"?done="+done, http.StatusSeeOther)
}

// formError returns the description of a refusal a form can show next to
// its fields (400, 403, 409, 422), or ok=false for errors that need their
// own page (404, 5xx).
func (h *Handler) formError(r *http.Request, err error) (int, string, bool) {
	e := h.apiError(r.Context(), err)
	switch e.Status {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity:
		return e.Status, e.Description, true
	}
	return 0, "", false
}

// formPtr returns a pointer to a posted field's value, nil when the form
// did not carry it (so the service leaves it alone).
func formPtr(r *http.Request, name string) *string {
	if _, ok := r.PostForm[name]; !ok {
		return nil
	}
	v := r.PostFormValue(name)
	return &v
}

func formBool(r *http.Request, name string) *bool {
	v := r.PostFormValue(name) != ""
	return &v
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return when(*t)
}

func (h *Handler) consoleHome(w http.ResponseWriter, r *http.Request, a *actor) error {
	if a.orgScope() != "" {
		http.Redirect(w, r, "/admin/clients", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/admin/employees", http.StatusSeeOther)
	return nil
}
