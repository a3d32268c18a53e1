package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gatehouse/storage"
)

var createScenarios = []scenario{
	{"create", func(t *testing.T, e *env) {
		r := e.as("admin", "POST", acme+"/users", map[string]any{
			"email": "New.Hire@Acme.example", "name": "New Hire", "kind": "employee", "role": "tech", "phone": "+15555550123"})
		want(t, r, http.StatusCreated)
		var v userView
		r.json(t, &v)
		if v.Email != "new.hire@acme.example" || v.Role != "tech" || !v.Active || v.Partner != "acme" || v.ID == "" {
			t.Errorf("created: %s", r.body)
		}
		if r.header.Get("Location") != acme+"/users/"+v.ID {
			t.Errorf("Location %q", r.header.Get("Location"))
		}
		u, err := e.store.GetUser(context.Background(), v.ID)
		if err != nil || u.PasswordHash != "" || u.Phone != "+15555550123" {
			t.Errorf("stored %+v %v", u, err)
		}
		if !slices.Contains(e.invites.users, "new.hire@acme.example") {
			t.Errorf("no invitation: %v", e.invites.users)
		}
		if got := e.auditActions("acme"); !slices.Equal(got, []string{"user.invite", "user.create"}) {
			t.Errorf("audit %v", got)
		}
		// A co-managing user in an organization with co-management.
		r = e.as("business", "POST", acme+"/users", map[string]any{
			"email": "cm2@globex.example", "name": "Co Two", "kind": "co_managing", "role": "co_managing",
			"username": "Co.Two", "organization": "globex"})
		want(t, r, http.StatusCreated)
		r.json(t, &v)
		if v.Username != "co.two" || !v.MFA.Required {
			t.Errorf("co-managing: %s", r.body)
		}
		// Notifications given at creation are checked against the role.
		r = e.as("admin", "POST", acme+"/users", map[string]any{
			"email": "fin2@acme.example", "name": "Fin", "kind": "employee", "role": "finance",
			"notifications": map[string]any{"invoice": true, "frequency": "weekly"}})
		want(t, r, http.StatusCreated)
		r.json(t, &v)
		if !v.Notifications.Invoice || v.Notifications.Frequency != "weekly" {
			t.Errorf("notifications: %s", r.body)
		}
	}},

	{"create rank rules", func(t *testing.T, e *env) {
		body := func(role string) map[string]any {
			return map[string]any{"email": role + "-x@acme.example", "name": "X", "kind": "employee", "role": role}
		}
		for _, c := range []struct {
			actor, role string
			status      int
		}{
			{"admin", "super_admin", http.StatusForbidden},
			{"admin", "admin", http.StatusForbidden},
			{"admin", "owner", http.StatusForbidden},
			{"owner", "owner", http.StatusForbidden},
			{"superadmin", "admin", http.StatusCreated},
			{"business", "finance", http.StatusCreated},
			{"business", "business", http.StatusForbidden},
			{"finance", "support", http.StatusForbidden},
			{"finance", "tech", http.StatusCreated},
			{"tech", "sales_marketing", http.StatusForbidden},
			{"sales", "tech", http.StatusForbidden},
		} {
			b := body(c.role)
			b["email"] = c.actor + "-" + c.role + "@acme.example"
			r := e.as(c.actor, "POST", acme+"/users", b)
			if r.status != c.status {
				t.Errorf("%s creates %s: %d, want %d: %s", c.actor, c.role, r.status, c.status, r.body)
			}
			if r.status == http.StatusForbidden && r.apiErr(t).Code != "forbidden" {
				t.Errorf("403 code: %s", r.body)
			}
		}
		// Client-side roles manage nobody either.
		for _, actor := range []string{"client", "comanager"} {
			want(t, e.as(actor, "POST", acme+"/users", map[string]any{"email": "z@acme.example", "name": "Z",
				"kind": "client", "role": "client", "organization": "initech"}), http.StatusForbidden)
		}
	}},

	{"create validation", func(t *testing.T, e *env) {
		base := func() map[string]any {
			return map[string]any{"email": "v@acme.example", "name": "V", "kind": "employee", "role": "tech"}
		}
		with := func(k string, v any) map[string]any {
			b := base()
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
			return b
		}
		co := func(extra map[string]any) map[string]any {
			b := map[string]any{"email": "co@acme.example", "name": "Co", "kind": "co_managing", "role": "co_managing",
				"username": "co", "organization": "globex"}
			for k, v := range extra {
				b[k] = v
			}
			return b
		}
		for _, c := range []struct {
			name  string
			body  any
			field string
		}{
			{"bad email", with("email", "not-an-email"), "email"},
			{"display-name email", with("email", "Bob <bob@acme.example>"), "email"},
			{"undotted domain", with("email", "bob@acme"), "email"},
			{"missing email", with("email", nil), "email"},
			{"name with control characters", with("name", "a\x07b"), "name"},
			{"employee without role", with("role", nil), "role"},
			{"bad kind", with("kind", "robot"), "kind"},
			{"bad role", with("role", "emperor"), "role"},
			{"role of another kind", with("role", "client"), "role"},
			{"bad phone", with("phone", "555-0100"), "phone"},
			{"employee with organization", with("organization", "globex"), "organization"},
			{"employee with username", with("username", "x"), "username"},
			{"client without organization", map[string]any{"email": "c@acme.example", "name": "C", "kind": "client", "role": "client"}, "organization"},
			{"unknown organization", map[string]any{"email": "c@acme.example", "name": "C", "kind": "client", "role": "client", "organization": "nope"}, "organization"},
			{"another partner's organization", map[string]any{"email": "c@acme.example", "name": "C", "kind": "client", "role": "client", "organization": "hooli"}, "organization"},
			{"co-managing without co-management", co(map[string]any{"organization": "initech"}), "organization"},
			{"username too long", co(map[string]any{"username": strings.Repeat("a", 33)}), "username"},
			{"username bad characters", co(map[string]any{"username": "j doe!"}), "username"},
			{"username missing", co(map[string]any{"username": ""}), "username"},
			{"sso without connection", with("sso", true), "sso"},
			{"notification the role may not receive", with("notifications", map[string]any{"invoice": true, "frequency": "daily"}), "invoice"},
			{"bad frequency", with("notifications", map[string]any{"frequency": "hourly"}), "frequency"},
			{"partner not the path's", with("partner", "beta"), "partner"},
			{"unknown field", with("favourite_colour", "blue"), "favourite_colour"},
			{"password not accepted", with("password", "hunter2"), "password"},
			{"wrong type", with("active", "yes"), "active"},
		} {
			r := e.as("admin", "POST", acme+"/users", c.body)
			if r.status != http.StatusUnprocessableEntity || !strings.HasPrefix(r.apiErr(t).Description, c.field+":") {
				t.Errorf("%s: %d %s, want 422 naming %s", c.name, r.status, r.body, c.field)
			}
		}
		// A 33-character username is refused at exactly 33, accepted at 32;
		// as in a seed file, the role of a co-managing user defaults.
		r := e.as("admin", "POST", acme+"/users", co(map[string]any{"username": strings.Repeat("a", 32), "role": nil}))
		want(t, r, http.StatusCreated)
		if m := r.m(t); m["role"] != "co_managing" || m["name"] != "Co" {
			t.Errorf("defaults: %s", r.body)
		}
		// A name defaults to the address.
		r = e.as("admin", "POST", acme+"/users", with("name", nil))
		want(t, r, http.StatusCreated)
		if m := r.m(t); m["name"] != "v@acme.example" {
			t.Errorf("name default: %s", r.body)
		}
		// Nothing refused was stored.
		users, _, _ := e.store.ListUsers(context.Background(), storage.UserFilter{PartnerID: "acme"}, storage.Page{Limit: 500})
		if len(users) != 14 {
			t.Errorf("%d users stored, want 14", len(users))
		}
	}},
}
