package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/storage"
)

func TestConsoleConnections(t *testing.T) { run(t, consoleConnectionScenarios) }

var consoleConnectionScenarios = []scenario{
	{"list, create, test, edit, delete", func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser(t, "admin")
		p := b.get("/admin/connections")
		wantPage(t, p, http.StatusOK, "No connections yet", `href="/admin/connections" aria-current="page"`, "Add connection")

		// Refused input shows the form again with what was typed, never the secret.
		p = b.post("/admin/connections", url.Values{"type": {"oidc"}, "id": {"acme-entra"}, "name": {"Entra"},
			"issuer": {"http://login.example"}, "client_id": {"gatehouse"}, "client_secret": {"s3cret"}})
		wantPage(t, p, http.StatusUnprocessableEntity, "issuer: must be an https URL", `value="Entra"`, `value="gatehouse"`)
		if strings.Contains(p.body, "s3cret") {
			t.Error("refused form shows the secret")
		}
		p = b.follow("/admin/connections", url.Values{"type": {"oidc"}, "id": {"acme-entra"}, "name": {"Entra"},
			"issuer": {"https://broken.example/t"}, "client_id": {"gatehouse"}, "client_secret": {"s3cret"},
			"metadata_url": {""}, "metadata": {""}})
		wantPage(t, p, http.StatusOK, "Connection created.", "Entra", "https://id.example/federation/acme-entra/callback",
			"Test connection", "OpenID Connect")
		if strings.Contains(p.body, "s3cret") {
			t.Error("page shows the secret")
		}
		c, err := e.store.GetConnection(ctx, "acme-entra")
		if err != nil || c.PartnerID != "acme" {
			t.Fatalf("stored %+v %v", c, err)
		}
		if plain, err := e.box.Open(c.ClientSecret); err != nil || string(plain) != "s3cret" {
			t.Errorf("secret %q %v", plain, err)
		}
		wantPage(t, b.get("/admin/connections"), http.StatusOK, `href="/admin/connections/acme-entra"`, "https://broken.example/t")

		// Test connection: POST, redirect, and the report on the page.
		p = b.post("/admin/connections/acme-entra/test", nil)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/admin/connections/acme-entra?test=") {
			t.Fatalf("test: %d %q", p.status, p.location)
		}
		report := p.location
		p = b.get(report)
		wantPage(t, p, http.StatusOK, "Problems found", "One check failed", "discovery", "Nothing answers at https://broken.example/t",
			"The issuer is https://broken.example/t.")
		// A reload shows it again; another admin's browser does not see it.
		wantPage(t, b.get(report), http.StatusOK, "Problems found")
		p = e.browser(t, "owner").get(report)
		wantPage(t, p, http.StatusOK, "no longer available")
		if strings.Contains(p.body, "Nothing answers") {
			t.Error("another admin sees the report")
		}
		wantPage(t, b.get("/admin/connections/acme-entra?test=made-up"), http.StatusOK, "no longer available")

		// Edit: an empty secret keeps it; a fixed issuer passes the test.
		p = b.follow("/admin/connections/acme-entra", url.Values{"name": {"Entra ID"}, "issuer": {"https://login.example/t"},
			"client_id": {"gatehouse"}, "client_secret": {""}})
		wantPage(t, p, http.StatusOK, "Changes saved.", "Entra ID")
		c, _ = e.store.GetConnection(ctx, "acme-entra")
		if plain, _ := e.box.Open(c.ClientSecret); string(plain) != "s3cret" || c.Issuer != "https://login.example/t" {
			t.Errorf("after edit: secret %q, issuer %q", plain, c.Issuer)
		}
		p = b.post("/admin/connections/acme-entra/test", nil)
		wantPage(t, b.get(p.location), http.StatusOK, "Passed", "Every check passed.")
		p = b.post("/admin/connections/acme-entra", url.Values{"name": {"Entra ID"}, "issuer": {"ftp://x"}, "client_id": {"gatehouse"}})
		wantPage(t, p, http.StatusUnprocessableEntity, "issuer:", `value="ftp://x"`)
		b.follow("/admin/connections/acme-entra", url.Values{"name": {"Entra ID"}, "issuer": {"https://login.example/t"},
			"client_id": {"gatehouse"}, "clear_secret": {"1"}})
		if c, _ = e.store.GetConnection(ctx, "acme-entra"); len(c.ClientSecret) != 0 {
			t.Error("secret not removed")
		}

		// SAML, with the addresses to give the identity provider.
		p = b.follow("/admin/connections", url.Values{"type": {"saml"}, "id": {"acme-adfs"}, "name": {"ADFS"},
			"issuer": {""}, "client_id": {""}, "client_secret": {""}, "metadata_url": {"https://adfs.acme.example/md.xml"}, "metadata": {""}})
		wantPage(t, p, http.StatusOK, "SAML", "https://id.example/federation/acme-adfs/metadata", "https://id.example/federation/acme-adfs/acs",
			`name="metadata_url"`)
		if strings.Contains(p.body, `name="client_id"`) {
			t.Error("a SAML connection's form offers a client id")
		}

		// Delete, through its confirmation; the last one stays while users use it.
		wantPage(t, b.get("/admin/connections/acme-adfs/delete"), http.StatusOK, "Delete ADFS?")
		wantPage(t, b.follow("/admin/connections/acme-adfs/delete", nil), http.StatusOK, "Connection deleted.")
		e.setUser("tech", func(u *storage.User) { u.SSO = true })
		wantPage(t, b.post("/admin/connections/acme-entra/delete", nil), http.StatusConflict, "turn their sso off first")
		if _, err := e.store.GetConnection(ctx, "acme-entra"); err != nil {
			t.Error("deleted while in use")
		}

		var actions []string
		for _, a := range e.auditActions("acme") {
			if strings.HasPrefix(a, "connection.") {
				actions = append(actions, a)
			}
		}
		if strings.Join(actions, " ") != "connection.delete connection.create connection.update connection.test connection.update connection.test connection.create" {
			t.Errorf("audit %v", actions)
		}
	}},

	{"rights and forms", func(t *testing.T, e *env) {
		b := e.browser(t, "admin")
		b.get("/admin/connections")
		b.follow("/admin/connections", url.Values{"type": {"oidc"}, "id": {"acme-entra"}, "issuer": {"https://idp.example"}, "client_id": {"c"}})
		// Below admin: no nav entry, and the pages and forms are refused.
		bb := e.browser(t, "business")
		p := bb.get("/admin/employees")
		if strings.Contains(p.body, "/admin/connections") {
			t.Error("business sees the connections entry")
		}
		wantPage(t, bb.get("/admin/connections"), http.StatusForbidden, "Not allowed")
		wantPage(t, bb.get("/admin/connections/acme-entra"), http.StatusForbidden)
		wantPage(t, bb.post("/admin/connections/acme-entra/test", nil), http.StatusForbidden)
		wantPage(t, bb.post("/admin/connections/acme-entra/delete", nil), http.StatusForbidden)
		wantPage(t, e.browser(t, "orgadmin").get("/admin/connections"), http.StatusForbidden)
		// Another partner's connection is not found.
		beta := e.browser(t, "betaowner")
		wantPage(t, beta.get("/admin/connections/acme-entra"), http.StatusNotFound)
		beta.get("/admin/connections")
		wantPage(t, beta.post("/admin/connections/acme-entra/test", nil), http.StatusNotFound)
		// A forged form changes nothing and runs nothing.
		wantPage(t, b.post("/admin/connections/acme-entra/test", url.Values{"csrf_token": {"forged"}}), http.StatusForbidden, "Form expired")
		wantPage(t, b.post("/admin/connections/acme-entra/delete", url.Values{"csrf_token": {"forged"}}), http.StatusForbidden, "Form expired")
		if len(e.tester.Runs()) != 0 {
			t.Errorf("tester ran %v", e.tester.Runs())
		}
		if _, err := e.store.GetConnection(context.Background(), "acme-entra"); err != nil {
			t.Error("deleted by a forged form")
		}
		// Anonymous: to the sign-in page.
		if p := e.browser(t, "").get("/admin/connections/acme-entra"); p.status != http.StatusSeeOther {
			t.Errorf("anonymous: %d", p.status)
		}
	}},
}
