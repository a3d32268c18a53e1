package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gatehouse/storage"
)

func TestResendInvite(t *testing.T) { run(t, inviteScenarios) }

// setUser changes a stored user the way the sign-in code would.
func (e *env) setUser(name string, fn func(u *storage.User)) {
	e.t.Helper()
	if _, err := e.store.UpdateUser(context.Background(), e.users[name].ID, func(u storage.User) (storage.User, error) {
		fn(&u)
		return u, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

var inviteScenarios = []scenario{
	{"api", func(t *testing.T, e *env) {
		path := func(name string) string { return acme + "/users/" + e.users[name].ID + "/invite" }
		want(t, e.as("admin", "POST", path("tech"), nil), http.StatusNoContent)
		if got := e.invites.Resent(); !slices.Equal(got, []string{"tech@acme.example"}) {
			t.Errorf("resent to %v", got)
		}
		events, _, _ := e.store.ListAudit(context.Background(), "acme", storage.Page{})
		if ev := events[0]; ev.Action != "user.invite" || ev.Target != e.users["tech"].ID || ev.Details["result"] != "sent" ||
			ev.Details["resend"] != true || ev.Details["target_email"] != "tech@acme.example" {
			t.Errorf("audit %+v", ev)
		}

		// The user's state refuses, in words that say what to do.
		e.setUser("tech", func(u *storage.User) { u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA" })
		r := e.as("admin", "POST", path("tech"), nil)
		want(t, r, http.StatusConflict)
		if d := r.apiErr(t).Description; !strings.Contains(d, "already set a password") {
			t.Errorf("409 says %q", d)
		}
		e.setUser("finance", func(u *storage.User) { u.Active = false })
		wantField(t, e.as("admin", "POST", path("finance"), nil), "active")

		// Rank, organization and partner, as for any action on a user.
		want(t, e.as("business", "POST", path("admin"), nil), http.StatusForbidden)
		want(t, e.as("admin", "POST", path("admin"), nil), http.StatusForbidden)
		want(t, e.as("tech", "POST", path("client"), nil), http.StatusForbidden)
		want(t, e.as("orgadmin", "POST", path("globexclient"), nil), http.StatusNoContent)
		want(t, e.as("orgadmin", "POST", path("client"), nil), http.StatusNotFound)
		want(t, e.as("admin", "POST", acme+"/users/"+e.users["betatech"].ID+"/invite", nil), http.StatusNotFound)
		want(t, e.as("admin", "POST", acme+"/users/nobody/invite", nil), http.StatusNotFound)
		if got := e.invites.Resent(); !slices.Equal(got, []string{"tech@acme.example", "globexclient@acme.example"}) {
			t.Errorf("resent to %v", got)
		}

		// A mail failure is the server's, and the log says it failed.
		e.invites.mu.Lock()
		e.invites.fail = errTestMailDown
		e.invites.mu.Unlock()
		want(t, e.as("admin", "POST", path("support"), nil), http.StatusInternalServerError)
		events, _, _ = e.store.ListAudit(context.Background(), "acme", storage.Page{})
		if ev := events[0]; ev.Action != "user.invite" || ev.Details["result"] != "failed" {
			t.Errorf("audit of a failure %+v", ev)
		}
		want(t, e.as("admin", "GET", acme+"/users/"+e.users["support"].ID, nil), http.StatusOK)

		e.h.cfg.Reinvites = nil
		want(t, e.as("admin", "POST", path("sales"), nil), http.StatusNotImplemented)
	}},

	{"console", func(t *testing.T, e *env) {
		b := e.browser(t, "admin")
		id := e.users["tech"].ID
		p := b.get("/admin/users/" + id)
		wantPage(t, p, http.StatusOK, "Resend invitation", `action="/admin/users/`+id+`/invite"`)
		p = b.follow("/admin/users/"+id+"/invite", nil)
		wantPage(t, p, http.StatusOK, "A new invitation is on its way")
		if got := e.invites.Resent(); !slices.Equal(got, []string{"tech@acme.example"}) {
			t.Errorf("resent to %v", got)
		}
		// Not offered once a password is set; posted anyway, refused in words.
		e.setUser("tech", func(u *storage.User) { u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA" })
		p = b.get("/admin/users/" + id)
		wantPage(t, p, http.StatusOK, "tech@acme.example")
		if strings.Contains(p.body, "Resend invitation") {
			t.Error("resend offered to a user with a password")
		}
		wantPage(t, b.post("/admin/users/"+id+"/invite", nil), http.StatusConflict, "already set a password")
		// Nor on someone the caller does not outrank, nor without CSRF.
		bb := e.browser(t, "business")
		p = bb.get("/admin/users/" + e.users["admin"].ID)
		if strings.Contains(p.body, "Resend invitation") {
			t.Error("business offered to reinvite an admin")
		}
		wantPage(t, bb.post("/admin/users/"+e.users["admin"].ID+"/invite", nil), http.StatusForbidden)
		wantPage(t, b.post("/admin/users/"+e.users["support"].ID+"/invite", url.Values{"csrf_token": {"forged"}}), http.StatusForbidden, "Form expired")
		if got := e.invites.Resent(); len(got) != 1 {
			t.Errorf("resent to %v", got)
		}
	}},
}
