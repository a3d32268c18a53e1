package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gatehouse/storage"
)

func TestConnectionsAPI(t *testing.T) { run(t, connectionScenarios) }

var connectionScenarios = []scenario{
	{"crud", func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.as("admin", "POST", acme+"/connections", map[string]any{"id": "acme-entra", "type": "oidc", "name": "Entra",
			"issuer": "https://login.example.com/t/v2.0", "client_id": "gatehouse", "client_secret": "s3cret"})
		want(t, r, http.StatusCreated)
		if strings.Contains(string(r.body), "s3cret") {
			t.Errorf("secret returned: %s", r.body)
		}
		var c connectionView
		r.json(t, &c)
		if !c.ClientSecretSet || c.Type != "oidc" || c.ClientID != "gatehouse" {
			t.Errorf("created %s", r.body)
		}
		stored, err := e.store.GetConnection(ctx, "acme-entra")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stored.ClientSecret), "s3cret") {
			t.Error("secret stored in the clear")
		}
		if plain, err := e.box.Open(stored.ClientSecret); err != nil || string(plain) != "s3cret" {
			t.Errorf("sealed secret opens to %q, %v", plain, err)
		}
		r = e.as("admin", "GET", acme+"/connections/acme-entra", nil)
		want(t, r, http.StatusOK)
		if strings.Contains(string(r.body), "s3cret") || strings.Contains(string(r.body), `"client_secret"`) {
			t.Errorf("GET shows the secret: %s", r.body)
		}
		r = e.as("admin", "POST", acme+"/connections", map[string]any{"id": "acme-adfs", "type": "saml",
			"metadata_url": "https://adfs.acme.example/FederationMetadata.xml"})
		want(t, r, http.StatusCreated)
		var l struct {
			Connections []connectionView `json:"connections"`
		}
		e.as("admin", "GET", acme+"/connections", nil).json(t, &l)
		if len(l.Connections) != 2 {
			t.Errorf("%d connections", len(l.Connections))
		}
		r = e.as("admin", "PATCH", acme+"/connections/acme-entra", map[string]any{"name": "Entra ID", "client_secret": "n3w"})
		want(t, r, http.StatusOK)
		stored, _ = e.store.GetConnection(ctx, "acme-entra")
		if plain, _ := e.box.Open(stored.ClientSecret); string(plain) != "n3w" || stored.Name != "Entra ID" {
			t.Errorf("patched: %q %q", plain, stored.Name)
		}
		events, _, _ := e.store.ListAudit(ctx, "acme", storage.Page{})
		if events[0].Action != "connection.update" || events[0].Details["client_secret"] != "changed" {
			t.Errorf("audit %+v", events[0])
		}
		for _, ev := range events {
			for _, v := range ev.Details {
				if s, ok := v.(string); ok && (strings.Contains(s, "s3cret") || strings.Contains(s, "n3w")) {
					t.Errorf("audit holds a secret: %+v", ev)
				}
			}
		}
		want(t, e.as("admin", "DELETE", acme+"/connections/acme-adfs", nil), http.StatusNoContent)
		if got := e.auditActions("acme"); !slices.Equal(got, []string{"connection.delete", "connection.update", "connection.create", "connection.create"}) {
			t.Errorf("audit %v", got)
		}
	}},

	{"validation and rights", func(t *testing.T, e *env) {
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"id": "x", "type": "ldap"}, "type"},
			{map[string]any{"id": "Bad!", "type": "oidc"}, "id"},
			{map[string]any{"id": "x", "type": "oidc", "client_id": "c"}, "issuer"},
			{map[string]any{"id": "x", "type": "oidc", "issuer": "http://idp.example", "client_id": "c"}, "issuer"},
			{map[string]any{"id": "x", "type": "oidc", "issuer": "https://idp.example"}, "client_id"},
			{map[string]any{"id": "x", "type": "saml"}, "metadata_url"},
			{map[string]any{"id": "x", "type": "saml", "metadata": "not xml"}, "metadata"},
			{map[string]any{"id": "x", "type": "saml", "metadata_url": "https://m.example", "client_id": "c"}, "issuer"},
			{map[string]any{"id": "x", "type": "oidc", "secret": "c"}, "secret"},
		} {
			wantField(t, e.as("owner", "POST", acme+"/connections", c.body), c.field)
		}
		want(t, e.as("owner", "POST", acme+"/connections", map[string]any{"id": "local", "type": "oidc",
			"issuer": "http://127.0.0.1:9999", "client_id": "c"}), http.StatusCreated)
		wantField(t, e.as("owner", "PATCH", acme+"/connections/local", map[string]any{"type": "saml"}), "type")
		// Connection ids are global: beta cannot take acme's.
		want(t, e.as("betaowner", "POST", "/api/v1/partners/beta/connections", map[string]any{"id": "local", "type": "oidc",
			"issuer": "https://idp.example", "client_id": "c"}), http.StatusConflict)
		// Another partner's connection is a 404.
		a := e.as("betaowner", "GET", "/api/v1/partners/beta/connections/local", nil)
		b := e.as("betaowner", "GET", "/api/v1/partners/beta/connections/none", nil)
		want(t, a, http.StatusNotFound)
		if string(a.body) != string(b.body) {
			t.Errorf("another partner's %s, none %s", a.body, b.body)
		}
		want(t, e.as("betaowner", "DELETE", "/api/v1/partners/beta/connections/local", nil), http.StatusNotFound)
		// Below admin: no connections.
		for _, name := range []string{"business", "finance", "tech", "orgadmin"} {
			want(t, e.as(name, "GET", acme+"/connections", nil), http.StatusForbidden)
		}
		want(t, e.as("admin", "GET", acme+"/connections", nil), http.StatusOK)
		// The last connection stays while users sign in through it.
		want(t, e.as("admin", "PATCH", acme+"/users/"+e.users["tech"].ID, map[string]any{"sso": true}), http.StatusOK)
		r := e.as("owner", "DELETE", acme+"/connections/local", nil)
		want(t, r, http.StatusConflict)
		want(t, e.as("admin", "PATCH", acme+"/users/"+e.users["tech"].ID, map[string]any{"sso": false}), http.StatusOK)
		want(t, e.as("owner", "DELETE", acme+"/connections/local", nil), http.StatusNoContent)
	}},
}
