package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gatehouse/storage"
	"gatehouse/templates"
)

// The console's connections: the partner's upstream identity providers,
// through the same service methods as the API (connections_service.go,
// connections_probe.go), so the same rights, checks and audit entries.

// connsPage lists the connections with the form to add one.
type connsPage struct {
	base
	Rows []connRow
	Form connForm
}

type connRow struct {
	URL, ID, Name, Type, TypeLabel, Where string
	SecretSet                             bool
}

// connForm is what the add and edit forms show: the stored values, or
// those just posted when they were refused. The secret is never shown.
type connForm struct {
	ID, Type, Name, Issuer, ClientID, MetadataURL, Metadata string
	SecretSet                                               bool
}

var connTypeLabels = map[string]string{"oidc": "OpenID Connect", "saml": "SAML"}

func toConnRow(c storage.Connection) connRow {
	where := c.Issuer
	if c.Type == "saml" {
		where = c.MetadataURL
		if where == "" {
			where = "metadata pasted in"
		}
	}
	return connRow{URL: "/admin/connections/" + url.PathEscape(c.ID), ID: c.ID, Name: c.Name, Type: c.Type,
		TypeLabel: connTypeLabels[c.Type], Where: where, SecretSet: len(c.ClientSecret) > 0}
}

func toConnForm(c storage.Connection) connForm {
	return connForm{ID: c.ID, Type: c.Type, Name: c.Name, Issuer: c.Issuer, ClientID: c.ClientID,
		MetadataURL: c.MetadataURL, Metadata: c.Metadata, SecretSet: len(c.ClientSecret) > 0}
}

func (h *Handler) consoleConnections(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.renderConnections(w, r, a, http.StatusOK, "", connForm{Type: "oidc"})
}

func (h *Handler) renderConnections(w http.ResponseWriter, r *http.Request, a *actor, status int, msg string, form connForm) error {
	cs, err := h.listConnections(r.Context(), a)
	if err != nil {
		return err
	}
	p := connsPage{Form: form}
	p.base = h.newBase(w, r, a, "Connections", "/admin/connections")
	p.Error = msg
	for _, c := range cs {
		p.Rows = append(p.Rows, toConnRow(c))
	}
	templates.Render(w, status, "admin_connections", p)
	return nil
}

// POST /admin/connections: the same createConnection as the API. The form
// carries the fields of both types; those of the other type are empty.
func (h *Handler) consoleCreateConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	f := r.PostFormValue
	in := connIn{ID: f("id"), Type: f("type"), Name: f("name"), Issuer: f("issuer"), ClientID: f("client_id"),
		ClientSecret: f("client_secret"), MetadataURL: f("metadata_url"), Metadata: f("metadata")}
	c, err := h.createConnection(r.Context(), a, in)
	if err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderConnections(w, r, a, status, msg, connForm{ID: in.ID, Type: in.Type, Name: in.Name,
			Issuer: in.Issuer, ClientID: in.ClientID, MetadataURL: in.MetadataURL, Metadata: in.Metadata})
	}
	redirect(w, r, "/admin/connections/"+url.PathEscape(c.ID), "conn_created")
	return nil
}

// connPage is one connection: what to register at the upstream, the test
// and its last result, the edit form and the delete confirmation.
type connPage struct {
	base
	C             connRow
	Path          string
	Form          connForm
	ConfirmDelete bool
	// Where the upstream sends users back (absent without Config.Issuer).
	RedirectURI, SPMetadataURL, ACSURL string
	Report                             *reportView
	ReportGone                         bool
}

// reportView is a test's report as the page shows it.
type reportView struct {
	OK      bool
	Summary string
	When    string
	Checks  []ConnectionCheck
}

func (h *Handler) consoleConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.renderConnection(w, r, a, http.StatusOK, "", nil, false)
}

func (h *Handler) consoleConfirmDeleteConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.renderConnection(w, r, a, http.StatusOK, "", nil, true)
}

func (h *Handler) renderConnection(w http.ResponseWriter, r *http.Request, a *actor, status int, msg string, form *connForm, confirmDelete bool) error {
	ctx := r.Context()
	c, err := h.connection(ctx, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	p := connPage{C: toConnRow(c), Path: "/admin/connections/" + url.PathEscape(c.ID), Form: toConnForm(c),
		ConfirmDelete: confirmDelete}
	if form != nil {
		p.Form = *form
		p.Form.Type, p.Form.SecretSet = c.Type, len(c.ClientSecret) > 0
	}
	if iss := strings.TrimSuffix(h.cfg.Issuer, "/"); iss != "" {
		base := iss + "/federation/" + url.PathEscape(c.ID)
		if c.Type == "saml" {
			p.SPMetadataURL, p.ACSURL = base+"/metadata", base+"/acs"
		} else {
			p.RedirectURI = base + "/callback"
		}
	}
	if key := r.URL.Query().Get("test"); key != "" {
		p.Report, p.ReportGone = h.testResult(ctx, a, c.ID, key)
	}
	p.base = h.newBase(w, r, a, c.Name, "/admin/connections")
	p.Error = msg
	templates.Render(w, status, "admin_connection", p)
	return nil
}

// POST /admin/connections/{id}: the same updateConnection as PATCH. An
// empty secret field keeps the stored secret; "clear_secret" removes it.
func (h *Handler) consoleUpdateConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	id := r.PathValue("id")
	in := connPatch{Name: formPtr(r, "name"), Issuer: formPtr(r, "issuer"), ClientID: formPtr(r, "client_id"),
		MetadataURL: formPtr(r, "metadata_url"), Metadata: formPtr(r, "metadata")}
	switch secret := r.PostFormValue("client_secret"); {
	case r.PostFormValue("clear_secret") != "":
		in.ClientSecret = new(string)
	case secret != "":
		in.ClientSecret = &secret
	}
	if _, err := h.updateConnection(r.Context(), a, id, in); err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		f := r.PostFormValue
		return h.renderConnection(w, r, a, status, msg, &connForm{ID: id, Name: f("name"), Issuer: f("issuer"),
			ClientID: f("client_id"), MetadataURL: f("metadata_url"), Metadata: f("metadata")}, false)
	}
	redirect(w, r, "/admin/connections/"+url.PathEscape(id), "saved")
	return nil
}

// POST /admin/connections/{id}/delete: refused (409) while users sign in
// through the partner's last connection.
func (h *Handler) consoleDeleteConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	if err := h.deleteConnection(r.Context(), a, r.PathValue("id")); err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderConnection(w, r, a, status, msg, nil, false)
	}
	redirect(w, r, "/admin/connections", "conn_deleted")
	return nil
}

// testResultTTL is how long the result of a console test can be shown
// again (a reload of the page the test redirected to).
const testResultTTL = 10 * time.Minute

// testResult is a console test's report, kept for the page the POST
// redirects to. It is bound to the admin who ran it and the connection.
type testResult struct {
	ConnectionID string           `json:"connection_id"`
	UserID       string           `json:"user_id"`
	At           time.Time        `json:"at"`
	Report       ConnectionReport `json:"report"`
}

func testResultKey(key string) string { return "admin_connection_test:" + key }

// POST /admin/connections/{id}/test: runs the test, keeps the report for a
// few minutes and redirects to the connection's page, which shows it.
func (h *Handler) consoleTestConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	id := r.PathValue("id")
	rep, err := h.testConnection(r.Context(), a, id)
	if err != nil {
		return err
	}
	b, err := json.Marshal(testResult{ConnectionID: id, UserID: a.user.ID, At: h.now(), Report: rep})
	if err != nil {
		return err
	}
	key := newID()
	if err := h.eph.Set(r.Context(), testResultKey(key), b, testResultTTL); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/connections/"+url.PathEscape(id)+"?test="+key, http.StatusSeeOther)
	return nil
}

// testResult returns the kept report key of connection id, or gone=true
// when it expired or is not this admin's or this connection's.
func (h *Handler) testResult(ctx context.Context, a *actor, id, key string) (*reportView, bool) {
	b, err := h.eph.Get(ctx, testResultKey(key))
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.log.WarnContext(ctx, "admin: reading a connection test result", "err", err)
		}
		return nil, true
	}
	var tr testResult
	if err := json.Unmarshal(b, &tr); err != nil || tr.ConnectionID != id || tr.UserID != a.user.ID {
		return nil, true
	}
	v := &reportView{OK: tr.Report.OK, When: when(tr.At), Checks: tr.Report.Checks}
	failed := 0
	for _, ch := range tr.Report.Checks {
		if !ch.OK {
			failed++
		}
	}
	switch {
	case tr.Report.OK:
		v.Summary = "Every check passed."
	case failed == 1:
		v.Summary = "One check failed. Until it is fixed, users who sign in through this connection will be refused."
	default:
		v.Summary = pluralChecks(failed) + " failed. Until they are fixed, users who sign in through this connection will be refused."
	}
	return v, false
}

func pluralChecks(n int) string {
	words := []string{"No checks", "One check", "Two checks", "Three checks", "Four checks", "Five checks"}
	if n < len(words) {
		return words[n]
	}
	return strconv.Itoa(n) + " checks"
}
