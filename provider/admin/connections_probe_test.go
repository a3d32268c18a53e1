package admin

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"gatehouse/storage"
)

func TestConnectionTestAPI(t *testing.T) { run(t, connectionTestScenarios) }

var connectionTestScenarios = []scenario{
	{"report, rights and audit", func(t *testing.T, e *env) {
		want(t, e.as("admin", "POST", acme+"/connections", map[string]any{"id": "acme-entra", "type": "oidc",
			"issuer": "https://broken.example/tenant", "client_id": "gatehouse"}), http.StatusCreated)
		want(t, e.as("admin", "POST", acme+"/connections", map[string]any{"id": "acme-adfs", "type": "saml",
			"metadata_url": "https://adfs.acme.example/FederationMetadata.xml"}), http.StatusCreated)

		// A failing connection is still a 200: the report says what is wrong.
		r := e.as("admin", "POST", acme+"/connections/acme-entra/test", nil)
		want(t, r, http.StatusOK)
		var rep ConnectionReport
		r.json(t, &rep)
		if rep.OK || len(rep.Checks) != 2 || rep.Checks[1].Name != "discovery" || rep.Checks[1].OK ||
			rep.Checks[1].Detail == "" || !rep.Checks[0].OK {
			t.Errorf("report of a broken connection: %s", r.body)
		}
		r = e.as("owner", "POST", acme+"/connections/acme-adfs/test", nil)
		want(t, r, http.StatusOK)
		if m := r.m(t); m["ok"] != true || len(m["checks"].([]any)) != 1 {
			t.Errorf("report of a good connection: %s", r.body)
		}

		// Another partner's connection is the same 404 as none, and neither
		// reaches the tester.
		other := e.as("betaowner", "POST", "/api/v1/partners/beta/connections/acme-entra/test", nil)
		none := e.as("betaowner", "POST", "/api/v1/partners/beta/connections/nobody/test", nil)
		want(t, other, http.StatusNotFound)
		if string(other.body) != string(none.body) {
			t.Errorf("another partner's %s, none %s", other.body, none.body)
		}
		want(t, e.as("betaowner", "POST", acme+"/connections/acme-entra/test", nil), http.StatusNotFound)
		// The rights of reading connections: admin and above.
		for _, name := range []string{"business", "finance", "orgadmin", "tech"} {
			want(t, e.as(name, "POST", acme+"/connections/acme-entra/test", nil), http.StatusForbidden)
		}
		want(t, e.call("", "POST", acme+"/connections/acme-entra/test", nil), http.StatusUnauthorized)
		want(t, e.as("admin", "GET", acme+"/connections/acme-entra/test", nil), http.StatusNotFound)
		if got := e.tester.Runs(); !slices.Equal(got, []string{"acme-entra", "acme-adfs"}) {
			t.Errorf("tester ran for %v", got)
		}

		events, _, err := e.store.ListAudit(context.Background(), "acme", storage.Page{})
		if err != nil {
			t.Fatal(err)
		}
		ev := events[0]
		if ev.Action != "connection.test" || ev.Target != "acme-adfs" || ev.Actor != e.users["owner"].ID ||
			ev.Details["ok"] != true || ev.Details["type"] != "saml" {
			t.Errorf("last event %+v", ev)
		}
		ev = events[1]
		if ev.Action != "connection.test" || ev.Target != "acme-entra" || ev.Details["ok"] != false || ev.IP == "" {
			t.Errorf("first test event %+v", ev)
		}
		if f, _ := ev.Details["failed"].([]any); len(f) != 1 || f[0] != "discovery" {
			t.Errorf("failed checks recorded as %v", ev.Details["failed"])
		}
		if got := e.auditActions("beta"); len(got) != 0 {
			t.Errorf("beta's log: %v", got)
		}
	}},

	{"deleted meanwhile, and no tester", func(t *testing.T, e *env) {
		want(t, e.as("admin", "POST", acme+"/connections", map[string]any{"id": "gone", "type": "oidc",
			"issuer": "https://idp.example", "client_id": "c"}), http.StatusCreated)
		// The tester finds no connection: the same 404, not a 500.
		e.h.cfg.TestConnection = func(ctx context.Context, id string) (ConnectionReport, error) {
			return ConnectionReport{}, storage.ErrNotFound
		}
		want(t, e.as("admin", "POST", acme+"/connections/gone/test", nil), http.StatusNotFound)
		e.h.cfg.TestConnection = nil
		r := e.as("admin", "POST", acme+"/connections/gone/test", nil)
		want(t, r, http.StatusNotImplemented)
		if r.apiErr(t).Code != "not_implemented" {
			t.Errorf("without a tester: %s", r.body)
		}
		if slices.Contains(e.auditActions("acme"), "connection.test") {
			t.Error("a test that did not run was audited")
		}
	}},
}
