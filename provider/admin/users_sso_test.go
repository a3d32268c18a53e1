package admin

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"gatehouse/storage"
)

func TestUpstreamLink(t *testing.T) { run(t, upstreamScenarios) }

// Turning sso off, or changing the address, forgets the upstream account
// linked at the first federated sign-in, so a recreated one links again.
var upstreamScenarios = []scenario{
	{"cleared by sso off and by email", func(t *testing.T, e *env) {
		want(t, e.as("admin", "POST", acme+"/connections", map[string]any{"id": "acme-entra", "type": "oidc",
			"issuer": "https://idp.example", "client_id": "c"}), http.StatusCreated)
		link := func() {
			e.setUser("tech", func(u *storage.User) { u.SSO, u.UpstreamSubject = true, "acme-entra|sub-1" })
		}
		link()
		path := acme + "/users/" + e.users["tech"].ID
		want(t, e.as("admin", "PATCH", path, map[string]any{"name": "Ted", "sso": true}), http.StatusOK)
		if got := e.user("tech").UpstreamSubject; got != "acme-entra|sub-1" {
			t.Fatalf("an unrelated change dropped the link: %q", got)
		}
		want(t, e.as("admin", "PATCH", path, map[string]any{"sso": false}), http.StatusOK)
		if got := e.user("tech").UpstreamSubject; got != "" {
			t.Errorf("sso off kept the link %q", got)
		}
		events, _, _ := e.store.ListAudit(context.Background(), "acme", storage.Page{})
		ch, _ := events[0].Details["upstream_subject"].(map[string]any)
		if events[0].Action != "user.update" || ch["from"] != "acme-entra|sub-1" || ch["to"] != "" {
			t.Errorf("audit %+v", events[0])
		}

		link()
		want(t, e.as("admin", "PATCH", path, map[string]any{"email": "ted@acme.example"}), http.StatusOK)
		if got := e.user("tech").UpstreamSubject; got != "" {
			t.Errorf("a new address kept the link %q", got)
		}
		events, _, _ = e.store.ListAudit(context.Background(), "acme", storage.Page{})
		if _, ok := events[0].Details["upstream_subject"]; !ok || events[0].Details["pending_email"] != "ted@acme.example" {
			t.Errorf("audit %+v", events[0])
		}

		// Through the console, the same.
		link()
		b := e.browser(t, "admin")
		b.get("/admin/users/" + e.users["tech"].ID)
		b.follow("/admin/users/"+e.users["tech"].ID, url.Values{"name": {"Ted"}, "role": {"tech"}, "email": {"tech@acme.example"},
			"flags": {"1"}, "active": {"1"}})
		if u := e.user("tech"); u.SSO || u.UpstreamSubject != "" {
			t.Errorf("console sso off: sso %v, link %q", u.SSO, u.UpstreamSubject)
		}
	}},
}
