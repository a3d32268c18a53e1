package admin

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/storage"
)

// browser is a cookie-jar client that does not follow redirects, so tests
// see each POST-redirect-GET step.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser(t *testing.T, name string) *browser {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.srv.URL)
	if name != "" {
		jar.SetCookies(u, []*http.Cookie{{Name: testCookie, Value: name, Path: "/"}})
	}
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status   int
	location string
	header   http.Header
	body     string
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(body)}
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form with the CSRF token of the last page seen.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf_token") == "" {
		form.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow posts a form and fetches where it redirects.
func (b *browser) follow(path string, form url.Values) page {
	b.t.Helper()
	p := b.post(path, form)
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("POST %s: %d, want 303: %s", path, p.status, text(p.body))
	}
	return b.get(p.location)
}

func wantPage(t *testing.T, p page, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d: %s", p.status, status, text(p.body))
	}
	for _, s := range contains {
		if !strings.Contains(p.body, s) {
			t.Errorf("page lacks %q: %s", s, text(p.body))
		}
	}
	if strings.Contains(p.body, "<script") || strings.Contains(p.body, "style=") || strings.Contains(p.body, "<style") {
		t.Error("page has inline script or style")
	}
}

var tagRE = regexp.MustCompile(`<[^>]+>|\s+`)

// text is a page's text for failure messages.
func text(body string) string {
	s := strings.TrimSpace(tagRE.ReplaceAllString(body, " "))
	if len(s) > 2000 {
		s = s[:2000]
	}
	return s
}

func TestConsole(t *testing.T) {
	run(t, []scenario{
		{"sign-in and rights", func(t *testing.T, e *env) {
			anon := e.browser(t, "")
			p := anon.get("/admin")
			if p.status != http.StatusSeeOther || p.location != "/login?return_to=%2Fadmin" {
				t.Errorf("anonymous: %d %q", p.status, p.location)
			}
			p = anon.get("/admin/users/u-tech")
			if p.location != "/login?return_to=%2Fadmin%2Fusers%2Fu-tech" {
				t.Errorf("anonymous deep link: %q", p.location)
			}
			if p := anon.post("/admin/users", url.Values{"csrf_token": {"x"}}); p.status != http.StatusSeeOther {
				t.Errorf("anonymous post: %d", p.status)
			}
			wantPage(t, e.browser(t, "tech").get("/admin/employees"), http.StatusForbidden, "No administration rights")
			wantPage(t, e.browser(t, "comanager").get("/admin"), http.StatusForbidden)

			b := e.browser(t, "admin")
			p = b.get("/admin")
			if p.status != http.StatusSeeOther || p.location != "/admin/employees" {
				t.Fatalf("home: %d %q", p.status, p.location)
			}
			p = b.get("/admin/employees")
			wantPage(t, p, http.StatusOK, "Manage Employees", "owner@acme.example", "tech@acme.example", "/static/admin.css", `aria-current="page"`)
			if strings.Contains(p.body, "betaadmin") || strings.Contains(p.body, "client@acme.example") {
				t.Error("employees page shows another partner or a client")
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
			wantPage(t, b.get("/admin/clients"), http.StatusOK, "client@acme.example", "Organization users")
			wantPage(t, b.get("/admin/clients?kind=org_user"), http.StatusOK, "orgadmin@acme.example")
			wantPage(t, b.get("/admin/co-managing"), http.StatusOK, "jdoe@acme.example")
			wantPage(t, b.get("/admin/employees?q=fin"), http.StatusOK, "finance@acme.example")
			wantPage(t, b.get("/admin/users/"+e.users["betatech"].ID), http.StatusNotFound)
			wantPage(t, b.get("/admin/nowhere"), http.StatusNotFound)

			// The org_admin sees their organization only, and no employees.
			o := e.browser(t, "orgadmin")
			p = o.get("/admin")
			if p.location != "/admin/clients" {
				t.Errorf("org_admin home %q", p.location)
			}
			wantPage(t, o.get("/admin/employees"), http.StatusNotFound)
			p = o.get("/admin/clients")
			wantPage(t, p, http.StatusOK, "globexclient@acme.example")
			if strings.Contains(p.body, "Manage Employees") || strings.Contains(p.body, "Audit log") || strings.Contains(p.body, ">client@acme.example<") {
				t.Errorf("org_admin nav or rows: %s", text(p.body))
			}
		}},

		{"create an employee", func(t *testing.T, e *env) {
			b := e.browser(t, "business")
			p := b.get("/admin/employees")
			wantPage(t, p, http.StatusOK, "Add employee")
			p = b.get("/admin/users/new?kind=employee")
			wantPage(t, p, http.StatusOK, `name="email"`, `value="finance"`)
			if strings.Contains(p.body, `value="admin"`) || strings.Contains(p.body, `value="business"`) {
				t.Error("business is offered roles at or above their own")
			}
			// Without the CSRF token nothing happens.
			p = b.post("/admin/users", url.Values{"csrf_token": {"forged"}, "kind": {"employee"}, "email": {"x@acme.example"}, "name": {"X"}, "role": {"tech"}})
			wantPage(t, p, http.StatusForbidden, "Form expired")
			if _, err := e.store.GetUserByEmail(context.Background(), "x@acme.example"); err == nil {
				t.Error("created without a CSRF token")
			}
			// A refusal shows the form again with the values typed.
			p = b.post("/admin/users", url.Values{"kind": {"employee"}, "email": {"not an email"}, "name": {"Nina New"}, "role": {"tech"}, "active": {"1"}})
			wantPage(t, p, http.StatusUnprocessableEntity, "email: is not a valid email address", `value="Nina New"`)
			p = b.post("/admin/users", url.Values{"kind": {"employee"}, "email": {"x@acme.example"}, "name": {"X"}, "role": {"admin"}, "active": {"1"}})
			wantPage(t, p, http.StatusForbidden, "ranks below yours")
			p = b.follow("/admin/users", url.Values{"kind": {"employee"}, "email": {"nina@acme.example"}, "name": {"Nina New"},
				"role": {"finance"}, "phone": {"+15555550199"}, "active": {"1"}})
			wantPage(t, p, http.StatusOK, "Created.", "Nina New", "nina@acme.example", "finance")
			u, err := e.store.GetUserByEmail(context.Background(), "nina@acme.example")
			if err != nil || u.Role != "finance" || !u.Active || u.Kind != storage.KindEmployee || u.Phone != "+15555550199" {
				t.Errorf("stored %+v %v", u, err)
			}
			if !slices.Contains(e.invites.users, "nina@acme.example") {
				t.Error("no invitation")
			}
			// A co-managing user needs an organization with co-management:
			// only those are offered.
			p = b.get("/admin/users/new?kind=co_managing")
			wantPage(t, p, http.StatusOK, `value="globex"`, "@acme.example")
			if strings.Contains(p.body, `value="initech"`) {
				t.Error("initech offered for a co-managing user")
			}
			p = b.post("/admin/users", url.Values{"kind": {"co_managing"}, "email": {"cm@x.example"}, "name": {"CM"}, "role": {"co_managing"},
				"username": {"jdoe"}, "organization": {"globex"}, "active": {"1"}})
			wantPage(t, p, http.StatusConflict, "username: already in use")
		}},

		{"user actions", func(t *testing.T, e *env) {
			ctx := context.Background()
			id := e.users["comanager"].ID
			if _, err := e.store.UpdateUser(ctx, id, func(u storage.User) (storage.User, error) {
				u.LockedUntil = e.clock.Now().Add(time.Hour)
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := e.store.CreateFactor(ctx, storage.Factor{ID: "f1", UserID: id, Kind: storage.FactorTOTP, Secret: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			b := e.browser(t, "admin")
			p := b.get("/admin/users/" + id)
			wantPage(t, p, http.StatusOK, "Unlock account", "Pause second factor", "Reset second factors", "Locked", "jdoe@acme.example", "kind co_managing")

			p = b.follow("/admin/users/"+id+"/unlock", nil)
			wantPage(t, p, http.StatusOK, "Unlocked.")
			if e.user("comanager").Locked(e.clock.Now()) || strings.Contains(p.body, "Unlock account") {
				t.Error("still locked")
			}
			p = b.follow("/admin/users/"+id+"/mfa/pause", url.Values{"until": {"24h"}, "reason": {"new phone"}})
			wantPage(t, p, http.StatusOK, "Second factor paused.", "Second factor paused until", "new phone", "End pause")
			if u := e.user("comanager"); !u.MFAPauseUntil.After(e.clock.Now()) || u.MFAPauseReason != "new phone" {
				t.Errorf("pause stored %+v", u)
			}
			if len(e.notices.notices) != 1 {
				t.Error("no pause notice")
			}
			p = b.post("/admin/users/"+id+"/mfa/pause", url.Values{"until": {"forever"}})
			wantPage(t, p, http.StatusUnprocessableEntity, "until:")
			p = b.follow("/admin/users/"+id+"/mfa/pause/end", nil)
			wantPage(t, p, http.StatusOK, "Pause ended.")
			if u := e.user("comanager"); !u.MFAPauseUntil.IsZero() || u.MFAPauseNextLogin {
				t.Error("pause not ended")
			}
			b.follow("/admin/users/"+id+"/mfa/pause", url.Values{"until": {"next_login"}})
			if !e.user("comanager").MFAPauseNextLogin {
				t.Error("next-login pause not stored")
			}
			p = b.follow("/admin/users/"+id+"/mfa/reset", nil)
			wantPage(t, p, http.StatusOK, "Second factors removed.", "none enrolled")
			// Notifications of a finance user: invoice only is offered.
			fid := e.users["finance"].ID
			p = b.get("/admin/users/" + fid)
			wantPage(t, p, http.StatusOK, "Invoice notifications")
			if strings.Contains(p.body, "General notifications") {
				t.Error("finance is offered general notifications")
			}
			b.follow("/admin/users/"+fid+"/notifications", url.Values{"invoice": {"1"}, "frequency": {"weekly"}})
			if n := e.user("finance").Notifications; !n.Invoice || n.Frequency != "weekly" {
				t.Errorf("notifications %+v", n)
			}
			p = b.post("/admin/users/"+fid+"/notifications", url.Values{"general": {"1"}, "frequency": {"weekly"}})
			wantPage(t, p, http.StatusUnprocessableEntity, "general:")
			// Edit: role, flags, and an email that waits for confirmation.
			p = b.follow("/admin/users/"+fid, url.Values{"name": {"Fran"}, "phone": {""}, "email": {"fran@acme.example"}, "role": {"support"},
				"flags": {"1"}, "active": {"1"}, "password_reset_disabled": {"1"}})
			wantPage(t, p, http.StatusOK, "awaiting confirmation", "fran@acme.example")
			if u := e.user("finance"); u.Name != "Fran" || u.Role != "support" || !u.PasswordResetDisabled || !u.Active || u.Email != "finance@acme.example" {
				t.Errorf("edited %+v", u)
			}
			p = b.post("/admin/users/"+fid, url.Values{"name": {"Fran"}, "role": {"super_admin"}})
			wantPage(t, p, http.StatusForbidden, "ranks below yours")
			// Delete, through its confirmation.
			wantPage(t, b.get("/admin/users/"+fid+"/delete"), http.StatusOK, "Delete Fran?")
			p = b.post("/admin/users/"+fid+"/delete", nil)
			if p.status != http.StatusSeeOther || p.location != "/admin/employees?done=deleted" {
				t.Fatalf("delete: %d %q", p.status, p.location)
			}
			if !slices.Contains(e.sessions.Ended(), fid) {
				t.Error("sessions not ended")
			}
			wantPage(t, b.get(p.location), http.StatusOK, "Deleted.")
			var actions []string
			events, _, _ := e.store.ListAudit(ctx, "acme", storage.Page{})
			for _, ev := range events {
				actions = append(actions, ev.Action)
				if ev.IP == "" || ev.Actor != e.users["admin"].ID {
					t.Errorf("event %+v", ev)
				}
			}
			if !slices.Equal(actions, []string{"user.delete", "user.update", "notifications.update", "mfa.reset", "mfa.pause", "mfa.pause_end", "mfa.pause", "user.unlock"}) {
				t.Errorf("audit %v", actions)
			}
			wantPage(t, b.get("/admin/audit"), http.StatusOK, "user.delete", "mfa.pause", "admin@acme.example", "reason: new phone")
		}},

		{"actions follow rank", func(t *testing.T, e *env) {
			b := e.browser(t, "business")
			p := b.get("/admin/users/" + e.users["admin"].ID)
			wantPage(t, p, http.StatusOK, "admin@acme.example")
			for _, s := range []string{"Pause second factor", "Delete…", "Save changes", `action="/admin/users/u-admin/unlock"`} {
				if strings.Contains(p.body, s) {
					t.Errorf("business sees %q on an admin", s)
				}
			}
			// Forms posted anyway are refused by the same rules.
			p = b.post("/admin/users/"+e.users["admin"].ID+"/mfa/pause", url.Values{"until": {"24h"}})
			wantPage(t, p, http.StatusForbidden)
			if !e.user("admin").MFAPauseUntil.IsZero() {
				t.Error("pause stored")
			}
			wantPage(t, b.post("/admin/users/"+e.users["admin"].ID+"/delete", nil), http.StatusForbidden)
			wantPage(t, b.get("/admin/users/"+e.users["admin"].ID+"/delete"), http.StatusForbidden)
			// Own page: name and phone only.
			p = b.get("/admin/users/" + e.users["business"].ID)
			wantPage(t, p, http.StatusOK, "Your details")
			if strings.Contains(p.body, `name="role"`) || strings.Contains(p.body, "Pause second factor") {
				t.Error("own page offers role or actions")
			}
			b.follow("/admin/users/"+e.users["business"].ID, url.Values{"name": {"Bea Business"}, "phone": {"+15555550111"}})
			if u := e.user("business"); u.Name != "Bea Business" || u.Role != "business" {
				t.Errorf("self edit %+v", u)
			}
			wantPage(t, b.post("/admin/users/"+e.users["business"].ID, url.Values{"role": {"admin"}}), http.StatusForbidden)
			if e.user("business").Role != "business" {
				t.Error("promoted themselves")
			}
			wantPage(t, b.get("/admin/audit"), http.StatusOK, "Audit log")
		}},

		{"organizations", func(t *testing.T, e *env) {
			b := e.browser(t, "admin")
			p := b.get("/admin/organizations")
			wantPage(t, p, http.StatusOK, "not yet mapped", `href="/admin/organizations/initech"`, "View unmapped organizations", "Unmapped organizations may experience issues with billing")
			if strings.Contains(p.body, "Hooli") {
				t.Error("another partner's organization listed")
			}
			p = b.get("/admin/organizations?mapped=false")
			wantPage(t, p, http.StatusOK, "Initech")
			if strings.Contains(p.body, "Globex Corp</a></td>") {
				t.Error("mapped organization in the unmapped list")
			}
			p = b.follow("/admin/organizations/initech", url.Values{"name": {"Initech"}, "saas_account": {"SP-77"}, "co_management": {"1"}})
			wantPage(t, p, http.StatusOK, "Changes saved.", "SP-77")
			if o, _ := e.store.GetOrganization(context.Background(), "acme", "initech"); o.SaaSAccount != "SP-77" || !o.CoManagement {
				t.Errorf("stored %+v", o)
			}
			p = b.get("/admin/organizations")
			if strings.Contains(p.body, "not yet mapped") {
				t.Error("banner with every organization mapped")
			}
			// Co-management stays on under co-managing users.
			p = b.post("/admin/organizations/globex", url.Values{"name": {"Globex Corp"}, "saas_account": {"SP-1234"}})
			wantPage(t, p, http.StatusUnprocessableEntity, "co_management:")
			p = b.post("/admin/organizations", url.Values{"id": {"Bad Id"}, "name": {"Umbrella"}})
			wantPage(t, p, http.StatusUnprocessableEntity, "id:", `value="Umbrella"`)
			p = b.follow("/admin/organizations", url.Values{"id": {"umbrella"}, "name": {"Umbrella"}})
			wantPage(t, p, http.StatusOK, "Organization created.", "This organization is not yet mapped")
			wantPage(t, b.get("/admin/organizations/umbrella/delete"), http.StatusOK, "Delete Umbrella?")
			p = b.follow("/admin/organizations/umbrella/delete", nil)
			wantPage(t, p, http.StatusOK, "Organization deleted.")
			wantPage(t, b.post("/admin/organizations/globex/delete", nil), http.StatusConflict, "users still belong")
			// The org_admin reads their organization and changes nothing.
			o := e.browser(t, "orgadmin")
			p = o.get("/admin/organizations/globex")
			wantPage(t, p, http.StatusOK, "Globex Corp")
			if strings.Contains(p.body, "Save changes") {
				t.Error("org_admin offered the edit form")
			}
			wantPage(t, o.get("/admin/organizations/initech"), http.StatusNotFound)
			wantPage(t, o.post("/admin/organizations/globex", url.Values{"name": {"Mine"}}), http.StatusForbidden)
		}},
	})
}
