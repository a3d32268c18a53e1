package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gatehouse/storage"
)

const acme = "/api/v1/partners/acme"

func TestUsersAPI(t *testing.T) { run(t, append(createScenarios, userScenarios...)) }

var userScenarios = []scenario{
	{"authentication", func(t *testing.T, e *env) {
		r := e.call("", "GET", acme+"/users", nil)
		want(t, r, http.StatusUnauthorized)
		if r.apiErr(t).Code != "invalid_token" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("no token: %s %v", r.body, r.header)
		}
		r = e.call("garbage", "GET", acme+"/users", nil)
		want(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("bad token header: %v", r.header)
		}
		r = e.call("noadmin:admin", "GET", acme+"/users", nil)
		want(t, r, http.StatusForbidden)
		if r.apiErr(t).Code != "insufficient_scope" {
			t.Errorf("no admin scope: %s", r.body)
		}
		// A deactivated user's token stops working.
		e.as("admin", "PATCH", acme+"/users/"+e.users["business"].ID, map[string]any{"active": false})
		want(t, e.as("business", "GET", "/api/v1/me", nil), http.StatusUnauthorized)
	}},

	{"me", func(t *testing.T, e *env) {
		r := e.as("business", "GET", "/api/v1/me", nil)
		want(t, r, http.StatusOK)
		var me struct {
			Email           string   `json:"email"`
			Role            string   `json:"role"`
			AssignableRoles []string `json:"assignable_roles"`
			Rights          rights   `json:"rights"`
		}
		r.json(t, &me)
		if me.Email != "business@acme.example" || me.Role != "business" || slices.Contains(me.AssignableRoles, "admin") ||
			!slices.Contains(me.AssignableRoles, "finance") || !me.Rights.Users || me.Rights.Connections {
			t.Errorf("me: %s", r.body)
		}
		// Roles that manage nobody still read themselves.
		want(t, e.as("tech", "GET", "/api/v1/me", nil), http.StatusOK)
	}},

	{"user object shape", func(t *testing.T, e *env) {
		r := e.as("admin", "GET", acme+"/users/"+e.users["comanager"].ID, nil)
		want(t, r, http.StatusOK)
		m := r.m(t)
		for _, k := range []string{"id", "partner", "email", "name", "kind", "role", "phone", "username", "organization",
			"active", "sso", "password_reset_disabled", "locked", "mfa", "notifications", "created_at"} {
			if _, ok := m[k]; !ok {
				t.Errorf("user lacks %q: %s", k, r.body)
			}
		}
		mfa := m["mfa"].(map[string]any)
		for _, k := range []string{"factors", "required", "paused_until", "pause_next_login"} {
			if _, ok := mfa[k]; !ok {
				t.Errorf("mfa lacks %q: %s", k, r.body)
			}
		}
		if mfa["required"] != true || m["username"] != "jdoe" || m["organization"] != "globex" || m["locked"] != false {
			t.Errorf("co-managing user: %s", r.body)
		}
		n := m["notifications"].(map[string]any)
		for _, k := range []string{"error", "invoice", "general", "frequency"} {
			if _, ok := n[k]; !ok {
				t.Errorf("notifications lack %q", k)
			}
		}
	}},

	{"malformed JSON", func(t *testing.T, e *env) {
		for _, body := range []string{`{"email": `, `not json`, ``, `[1,2]`, `{"email":"a@b.c"} {"x":1}`, `"str"`} {
			r := e.as("admin", "POST", acme+"/users", body)
			want(t, r, http.StatusBadRequest)
			if r.apiErr(t).Code != "invalid_request" {
				t.Errorf("%q: %s", body, r.body)
			}
		}
		want(t, e.as("admin", "PATCH", acme+"/users/"+e.users["tech"].ID, `{"name": }`), http.StatusBadRequest)
		// Bodies are bounded.
		big := `{"name": "` + strings.Repeat("x", maxBody) + `"}`
		want(t, e.as("admin", "PATCH", acme+"/users/"+e.users["tech"].ID, big), http.StatusRequestEntityTooLarge)
	}},

	{"duplicates", func(t *testing.T, e *env) {
		r := e.as("admin", "POST", acme+"/users", map[string]any{"email": "TECH@acme.example", "name": "T", "kind": "employee", "role": "tech"})
		want(t, r, http.StatusConflict)
		if d := r.apiErr(t).Description; !strings.HasPrefix(d, "email:") {
			t.Errorf("duplicate email: %s", d)
		}
		// Emails are unique across partners too.
		want(t, e.as("admin", "POST", acme+"/users", map[string]any{"email": "betatech@beta.example", "name": "T", "kind": "employee", "role": "tech"}), http.StatusConflict)
		r = e.as("admin", "POST", acme+"/users", map[string]any{"email": "jd2@acme.example", "name": "J", "kind": "co_managing",
			"role": "co_managing", "username": "JDoe", "organization": "globex"})
		want(t, r, http.StatusConflict)
		if d := r.apiErr(t).Description; !strings.HasPrefix(d, "username:") {
			t.Errorf("duplicate username: %s", d)
		}
		// Usernames are unique per partner: beta may have its own jdoe.
		want(t, e.as("betaadmin", "POST", "/api/v1/partners/beta/users", map[string]any{"email": "jd@hooli.example", "name": "J",
			"kind": "co_managing", "role": "co_managing", "username": "jdoe", "organization": "hooli"}), http.StatusCreated)
		// PATCH to a taken email.
		want(t, e.as("admin", "PATCH", acme+"/users/"+e.users["tech"].ID, map[string]any{"email": "sales@acme.example"}), http.StatusConflict)
	}},

	{"partners are separate", func(t *testing.T, e *env) {
		absent := e.as("admin", "GET", acme+"/users/u-nobody", nil)
		other := e.as("admin", "GET", acme+"/users/"+e.users["betaadmin"].ID, nil)
		want(t, absent, http.StatusNotFound)
		want(t, other, http.StatusNotFound)
		if string(absent.body) != string(other.body) {
			t.Errorf("absent %s and another partner's %s differ", absent.body, other.body)
		}
		// The same through another partner's path.
		p1 := e.as("admin", "GET", "/api/v1/partners/beta/users", nil)
		p2 := e.as("admin", "GET", "/api/v1/partners/nonexistent/users", nil)
		want(t, p1, http.StatusNotFound)
		if string(p1.body) != string(p2.body) {
			t.Errorf("another partner %s, no partner %s", p1.body, p2.body)
		}
		for _, c := range []struct{ method, path string }{
			{"PATCH", "/users/" + e.users["betatech"].ID},
			{"DELETE", "/users/" + e.users["betatech"].ID},
			{"POST", "/users/" + e.users["betatech"].ID + "/unlock"},
			{"DELETE", "/users/" + e.users["betatech"].ID + "/mfa"},
			{"GET", "/users/" + e.users["betatech"].ID + "/policy"},
			{"GET", "/organizations/hooli"},
			{"PATCH", "/organizations/hooli"},
		} {
			r := e.as("admin", c.method, acme+c.path, map[string]any{})
			if r.status != http.StatusNotFound {
				t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
			}
		}
		if e.user("betatech").Name != "Betatech" {
			t.Error("another partner's user changed")
		}
		// Lists hold only the caller's partner.
		var l userList
		e.as("admin", "GET", acme+"/users?limit=500", nil).json(t, &l)
		for _, u := range l.Users {
			if u.Partner != "acme" {
				t.Errorf("listed %s of %s", u.Email, u.Partner)
			}
		}
	}},

	{"list, filters and pages", func(t *testing.T, e *env) {
		var l userList
		r := e.as("business", "GET", acme+"/users?kind=employee", nil)
		want(t, r, http.StatusOK)
		r.json(t, &l)
		if len(l.Users) != 8 || l.NextPageToken != "" {
			t.Errorf("employees: %d, next %q", len(l.Users), l.NextPageToken)
		}
		e.as("admin", "GET", acme+"/users?role=client", nil).json(t, &l)
		if len(l.Users) != 2 {
			t.Errorf("clients: %d", len(l.Users))
		}
		e.as("admin", "GET", acme+"/users?q=JDO", nil).json(t, &l)
		if len(l.Users) != 1 || l.Users[0].Username != "jdoe" {
			t.Errorf("q=JDO: %+v", l.Users)
		}
		e.as("admin", "GET", acme+"/users?q=sales%40acme", nil).json(t, &l)
		if len(l.Users) != 1 || l.Users[0].Email != "sales@acme.example" {
			t.Errorf("q by email: %+v", l.Users)
		}
		// Pages of 5 cover the 12 users once each, in order.
		var seen []string
		tok := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			e.as("admin", "GET", acme+"/users?limit=5&page_token="+tok, nil).json(t, &l)
			for _, u := range l.Users {
				seen = append(seen, u.Email)
			}
			if tok = l.NextPageToken; tok == "" {
				break
			}
		}
		if len(seen) != 12 || !slices.IsSorted(seen) {
			t.Errorf("paged %d users: %v", len(seen), seen)
		}
		wantField(t, e.as("admin", "GET", acme+"/users?kind=robot", nil), "kind")
		wantField(t, e.as("admin", "GET", acme+"/users?role=emperor", nil), "role")
		wantField(t, e.as("admin", "GET", acme+"/users?limit=0", nil), "limit")
		// page_size is limit by another name.
		e.as("admin", "GET", acme+"/users?page_size=5", nil).json(t, &l)
		if len(l.Users) != 5 || l.NextPageToken == "" {
			t.Errorf("page_size=5: %d users, next %q", len(l.Users), l.NextPageToken)
		}
		wantField(t, e.as("admin", "GET", acme+"/users?page_size=0", nil), "page_size")
		wantField(t, e.as("admin", "GET", acme+"/users?page_token=bogus", nil), "page_token")
		// Roles that manage nobody read no lists.
		for _, name := range []string{"tech", "sales", "client", "comanager"} {
			want(t, e.as(name, "GET", acme+"/users", nil), http.StatusForbidden)
		}
	}},

	{"org_admin is confined to their organization", func(t *testing.T, e *env) {
		var l userList
		e.as("orgadmin", "GET", acme+"/users", nil).json(t, &l)
		for _, u := range l.Users {
			if u.Organization != "globex" {
				t.Errorf("org_admin sees %s of %q", u.Email, u.Organization)
			}
		}
		if len(l.Users) != 3 {
			t.Errorf("org_admin sees %d users", len(l.Users))
		}
		want(t, e.as("orgadmin", "GET", acme+"/users/"+e.users["client"].ID, nil), http.StatusNotFound)
		want(t, e.as("orgadmin", "GET", acme+"/users/"+e.users["tech"].ID, nil), http.StatusNotFound)
		want(t, e.as("orgadmin", "POST", acme+"/users", map[string]any{"email": "c3@globex.example", "name": "C",
			"kind": "client", "role": "client", "organization": "globex"}), http.StatusCreated)
		wantField(t, e.as("orgadmin", "POST", acme+"/users", map[string]any{"email": "c4@globex.example", "name": "C",
			"kind": "client", "role": "client", "organization": "initech"}), "organization")
		want(t, e.as("orgadmin", "POST", acme+"/users", map[string]any{"email": "e@acme.example", "name": "E",
			"kind": "employee", "role": "tech"}), http.StatusForbidden)
		want(t, e.as("orgadmin", "POST", "/api/v1/partners/acme/users/"+e.users["comanager"].ID+"/unlock", nil), http.StatusNoContent)
	}},

	{"update", func(t *testing.T, e *env) {
		id := e.users["tech"].ID
		r := e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"name": "Tess Tech", "role": "support",
			"phone": "+441234567890", "password_reset_disabled": true})
		want(t, r, http.StatusOK)
		u := e.user("tech")
		if u.Name != "Tess Tech" || u.Role != "support" || u.Phone != "+441234567890" || !u.PasswordResetDisabled {
			t.Errorf("stored %+v", u)
		}
		events, _, _ := e.store.ListAudit(context.Background(), "acme", storage.Page{})
		if events[0].Action != "user.update" || events[0].Target != id || events[0].Details["role"] == nil {
			t.Errorf("audit %+v", events[0])
		}
		// Role rules.
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"role": "emperor"}), "role")
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"role": "co_managing"}), "role")
		want(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"role": "super_admin"}), http.StatusForbidden)
		want(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"role": "owner"}), http.StatusForbidden)
		want(t, e.as("superadmin", "PATCH", acme+"/users/"+e.users["owner"].ID, map[string]any{"role": "admin"}), http.StatusForbidden)
		want(t, e.as("owner", "PATCH", acme+"/users/"+e.users["owner"].ID, map[string]any{"role": "super_admin"}), http.StatusForbidden)
		want(t, e.as("business", "PATCH", acme+"/users/"+e.users["admin"].ID, map[string]any{"name": "X"}), http.StatusForbidden)
		// Nobody promotes themselves; name and phone of one's own are fine.
		want(t, e.as("business", "PATCH", acme+"/users/"+e.users["business"].ID, map[string]any{"role": "admin"}), http.StatusForbidden)
		want(t, e.as("business", "PATCH", acme+"/users/"+e.users["business"].ID, map[string]any{"role": "business"}), http.StatusForbidden)
		want(t, e.as("business", "PATCH", acme+"/users/"+e.users["business"].ID, map[string]any{"name": "Bea"}), http.StatusOK)
		if e.user("business").Role != "business" || e.user("business").Name != "Bea" {
			t.Error("self update")
		}
		// Fields that cannot change.
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"kind": "client"}), "kind")
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+e.users["comanager"].ID, map[string]any{"username": "x"}), "username")
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"phone": "12"}), "phone")
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"name": ""}), "name")
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"sso": true}), "sso")
		// Role change turns off notifications the new role may not receive.
		fid := e.users["finance"].ID
		want(t, e.as("admin", "PUT", acme+"/users/"+fid+"/notifications", map[string]any{"invoice": true, "frequency": "daily"}), http.StatusOK)
		want(t, e.as("admin", "PATCH", acme+"/users/"+fid, map[string]any{"role": "support"}), http.StatusOK)
		if n := e.user("finance").Notifications; n.Invoice {
			t.Errorf("support keeps invoice notifications: %+v", n)
		}
	}},

	{"email change waits for confirmation", func(t *testing.T, e *env) {
		id := e.users["tech"].ID
		r := e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"email": "Tess@Acme.example"})
		want(t, r, http.StatusOK)
		var v userView
		r.json(t, &v)
		if v.Email != "tech@acme.example" || v.PendingEmail != "tess@acme.example" {
			t.Errorf("patched: %s", r.body)
		}
		if e.user("tech").Email != "tech@acme.example" {
			t.Error("email changed before confirmation")
		}
		pe, err := e.h.pendingEmail(context.Background(), id)
		if err != nil || pe.Email != "tess@acme.example" || pe.RequestedBy != e.users["admin"].ID {
			t.Errorf("pending %+v %v", pe, err)
		}
		e.as("admin", "GET", acme+"/users/"+id, nil).json(t, &v)
		if v.PendingEmail != "tess@acme.example" {
			t.Errorf("GET shows no pending email: %+v", v)
		}
		wantField(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"email": "nope"}), "email")
		if got := e.emails.asked(); !slices.Equal(got, []string{id + " tess@acme.example"}) {
			t.Errorf("confirmation asked for %v", got)
		}
		// The mail side's refusal of a taken address is a 409.
		e.emails.taken = "late@acme.example"
		want(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"email": "late@acme.example"}), http.StatusConflict)
	}},

	{"deactivate ends sessions", func(t *testing.T, e *env) {
		id := e.users["support"].ID
		want(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"active": false}), http.StatusOK)
		if !slices.Contains(e.sessions.Ended(), id) || e.user("support").Active {
			t.Errorf("sessions ended %v, active %v", e.sessions.Ended(), e.user("support").Active)
		}
		// Reactivating does not end anything again.
		n := len(e.sessions.Ended())
		want(t, e.as("admin", "PATCH", acme+"/users/"+id, map[string]any{"active": true}), http.StatusOK)
		if len(e.sessions.Ended()) != n || !e.user("support").Active {
			t.Error("reactivation")
		}
	}},

	{"delete", func(t *testing.T, e *env) {
		id := e.users["finance"].ID
		ctx := context.Background()
		if err := e.store.CreateRefreshToken(ctx, storage.RefreshToken{Signature: "sig-1", FamilyID: "fam", ClientID: "academy",
			UserID: id, Active: true, ExpiresAt: e.clock.Now().Add(1e12)}); err != nil {
			t.Fatal(err)
		}
		e.eph.Set(ctx, LockoutKey(id), []byte("3"), 1e12)
		want(t, e.as("business", "DELETE", acme+"/users/"+id, nil), http.StatusNoContent)
		if !slices.Contains(e.sessions.Ended(), id) {
			t.Errorf("sessions not ended: %v", e.sessions.Ended())
		}
		if _, err := e.store.GetUser(ctx, id); err == nil {
			t.Error("user still stored")
		}
		if rt, err := e.store.GetRefreshToken(ctx, "sig-1"); err == nil && rt.Active {
			t.Error("refresh token still active")
		}
		if _, err := e.eph.Get(ctx, LockoutKey(id)); err == nil {
			t.Error("lockout counter left behind")
		}
		want(t, e.as("business", "GET", acme+"/users/"+id, nil), http.StatusNotFound)
		want(t, e.as("business", "DELETE", acme+"/users/"+id, nil), http.StatusNotFound)
		// Rank and self.
		want(t, e.as("business", "DELETE", acme+"/users/"+e.users["admin"].ID, nil), http.StatusForbidden)
		want(t, e.as("admin", "DELETE", acme+"/users/"+e.users["admin"].ID, nil), http.StatusForbidden)
		want(t, e.as("tech", "DELETE", acme+"/users/"+e.users["client"].ID, nil), http.StatusForbidden)
		// If sessions cannot be ended, nothing is deleted.
		e.sessions.fail = storage.ErrUnavailable
		want(t, e.as("admin", "DELETE", acme+"/users/"+e.users["support"].ID, nil), http.StatusServiceUnavailable)
		if _, err := e.store.GetUser(ctx, e.users["support"].ID); err != nil {
			t.Error("user deleted though their sessions were not ended")
		}
		if got := e.auditActions("acme"); !slices.Equal(got, []string{"user.delete"}) {
			t.Errorf("audit %v", got)
		}
	}},
}
