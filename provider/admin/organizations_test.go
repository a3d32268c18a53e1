package admin

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"gatehouse/storage"
)

func TestOrganizationsAPI(t *testing.T) { run(t, organizationScenarios) }

type orgList struct {
	Organizations []organizationView `json:"organizations"`
}

func orgIDs(l orgList) []string {
	var out []string
	for _, o := range l.Organizations {
		out = append(out, o.ID)
	}
	return out
}

var organizationScenarios = []scenario{
	{"list and unmapped", func(t *testing.T, e *env) {
		var l orgList
		r := e.as("admin", "GET", acme+"/organizations", nil)
		want(t, r, http.StatusOK)
		r.json(t, &l)
		if got := orgIDs(l); !slices.Equal(got, []string{"globex", "initech"}) {
			t.Errorf("organizations %v", got)
		}
		var raw map[string][]map[string]any
		r.json(t, &raw)
		for _, k := range []string{"id", "name", "co_management", "saas_account", "mapped"} {
			if _, ok := raw["organizations"][0][k]; !ok {
				t.Errorf("organization lacks %q: %s", k, r.body)
			}
		}
		e.as("admin", "GET", acme+"/organizations?mapped=false", nil).json(t, &l)
		if got := orgIDs(l); !slices.Equal(got, []string{"initech"}) || l.Organizations[0].Mapped {
			t.Errorf("unmapped %v", got)
		}
		e.as("admin", "GET", acme+"/organizations?mapped=true", nil).json(t, &l)
		if got := orgIDs(l); !slices.Equal(got, []string{"globex"}) || !l.Organizations[0].Mapped {
			t.Errorf("mapped %v", got)
		}
		wantField(t, e.as("admin", "GET", acme+"/organizations?mapped=maybe", nil), "mapped")
		e.as("orgadmin", "GET", acme+"/organizations", nil).json(t, &l)
		if got := orgIDs(l); !slices.Equal(got, []string{"globex"}) {
			t.Errorf("org_admin sees %v", got)
		}
		want(t, e.as("orgadmin", "GET", acme+"/organizations/initech", nil), http.StatusNotFound)
		want(t, e.as("tech", "GET", acme+"/organizations", nil), http.StatusForbidden)
	}},

	{"create, map, rename, delete", func(t *testing.T, e *env) {
		r := e.as("business", "POST", acme+"/organizations", map[string]any{"id": "umbrella", "name": "Umbrella"})
		want(t, r, http.StatusCreated)
		var o organizationView
		r.json(t, &o)
		if o.ID != "umbrella" || o.Mapped || o.CoManagement {
			t.Errorf("created %s", r.body)
		}
		want(t, e.as("business", "POST", acme+"/organizations", map[string]any{"id": "umbrella", "name": "Again"}), http.StatusConflict)
		// Organization ids are per partner: beta may use the same one.
		want(t, e.as("betaadmin", "POST", "/api/v1/partners/beta/organizations", map[string]any{"id": "umbrella", "name": "U"}), http.StatusCreated)
		wantField(t, e.as("business", "POST", acme+"/organizations", map[string]any{"id": "Bad Id", "name": "X"}), "id")
		wantField(t, e.as("business", "POST", acme+"/organizations", map[string]any{"id": "ok"}), "name")
		wantField(t, e.as("business", "POST", acme+"/organizations", map[string]any{"id": "ok", "name": "X", "mapped": true}), "mapped")

		r = e.as("admin", "PATCH", acme+"/organizations/umbrella", map[string]any{"saas_account": "SP-9", "name": "Umbrella Corp", "co_management": true})
		want(t, r, http.StatusOK)
		r.json(t, &o)
		if !o.Mapped || o.SaaSAccount != "SP-9" || o.Name != "Umbrella Corp" || !o.CoManagement {
			t.Errorf("patched %s", r.body)
		}
		r = e.as("admin", "PATCH", acme+"/organizations/umbrella", `{"saas_account": null}`)
		want(t, r, http.StatusOK)
		r.json(t, &o)
		if o.Mapped {
			t.Errorf("null did not unmap: %s", r.body)
		}
		wantField(t, e.as("admin", "PATCH", acme+"/organizations/umbrella", `{"saas_account": 7}`), "saas_account")
		wantField(t, e.as("admin", "PATCH", acme+"/organizations/umbrella", `{"id": "x"}`), "id")
		want(t, e.as("orgadmin", "PATCH", acme+"/organizations/globex", map[string]any{"name": "Mine"}), http.StatusForbidden)
		want(t, e.as("tech", "POST", acme+"/organizations", map[string]any{"id": "t", "name": "T"}), http.StatusForbidden)

		want(t, e.as("admin", "DELETE", acme+"/organizations/umbrella", nil), http.StatusNoContent)
		want(t, e.as("admin", "GET", acme+"/organizations/umbrella", nil), http.StatusNotFound)
		// An organization with users stays.
		r = e.as("admin", "DELETE", acme+"/organizations/initech", nil)
		want(t, r, http.StatusConflict)
		if r.apiErr(t).Code != "conflict" {
			t.Errorf("delete with users: %s", r.body)
		}
		want(t, e.as("admin", "DELETE", "/api/v1/partners/acme/organizations/hooli", nil), http.StatusNotFound)
		if got := e.auditActions("acme"); !slices.Equal(got, []string{"organization.delete", "organization.update", "organization.update", "organization.create"}) {
			t.Errorf("audit %v", got)
		}
	}},

	{"co-management", func(t *testing.T, e *env) {
		// globex has a co-managing user: co-management stays on.
		wantField(t, e.as("admin", "PATCH", acme+"/organizations/globex", map[string]any{"co_management": false}), "co_management")
		if o, _ := e.store.GetOrganization(context.Background(), "acme", "globex"); !o.CoManagement {
			t.Error("co-management turned off")
		}
		// Turned on, initech takes co-managing users; off again once they go.
		want(t, e.as("admin", "PATCH", acme+"/organizations/initech", map[string]any{"co_management": true}), http.StatusOK)
		r := e.as("admin", "POST", acme+"/users", map[string]any{"email": "cm@initech.example", "name": "CM",
			"kind": "co_managing", "role": "co_managing", "username": "cm", "organization": "initech"})
		want(t, r, http.StatusCreated)
		var v userView
		r.json(t, &v)
		wantField(t, e.as("admin", "PATCH", acme+"/organizations/initech", map[string]any{"co_management": false}), "co_management")
		want(t, e.as("admin", "DELETE", acme+"/users/"+v.ID, nil), http.StatusNoContent)
		want(t, e.as("admin", "PATCH", acme+"/organizations/initech", map[string]any{"co_management": false}), http.StatusOK)
		events, _, _ := e.store.ListAudit(context.Background(), "acme", storage.Page{})
		if events[0].Action != "organization.update" || events[0].Details["co_management"] == nil {
			t.Errorf("audit %+v", events[0])
		}
	}},
}
