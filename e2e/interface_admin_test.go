package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// INTERFACE.md section 8: the administration API.

// ifUserFields are the keys of a user object.
var ifUserFields = []string{"id", "partner", "email", "name", "kind", "role", "phone", "username", "organization",
	"active", "sso", "password_reset_disabled", "locked", "mfa", "notifications", "created_at"}

func checkUserShape(t testing.TB, u map[string]any) {
	t.Helper()
	for _, k := range ifUserFields {
		if _, ok := u[k]; !ok {
			t.Errorf("user object lacks %q: %v", k, u)
		}
	}
	mfa, _ := u["mfa"].(map[string]any)
	for _, k := range []string{"factors", "required", "paused_until", "pause_next_login"} {
		if _, ok := mfa[k]; !ok {
			t.Errorf("user.mfa lacks %q: %v", k, u["mfa"])
		}
	}
	if _, ok := mfa["factors"].([]any); !ok {
		t.Errorf("user.mfa.factors is not an array: %v", mfa["factors"])
	}
	if s, _ := u["created_at"].(string); s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("created_at %q is not RFC 3339", s)
		}
	}
}

// ifFindUser finds a user's id by email through the list.
func ifFindUser(t testing.TB, api *ifAPI, partner, email string) map[string]any {
	t.Helper()
	ans := api.do("GET", "/api/v1/partners/"+partner+"/users?q="+url.QueryEscape(email), nil).want(t, 200, "list with q")
	users, _ := ans.JSON["users"].([]any)
	for _, x := range users {
		if u := x.(map[string]any); u["email"] == email {
			return u
		}
	}
	t.Fatalf("q=%s did not find the user: %s", email, ans.Body)
	return nil
}

func TestInterfaceAdminAPI(t *testing.T) {
	t.Parallel()
	n := ifStart(t, ifNodeOptions{Mail: true})
	owner := ifAdminAPI(t, n.URL, ifOwner, ifOwnerPass)
	admin := ifAdminAPI(t, n.URL, ifAdmin, ifAdminPass)
	tech := ifAdminAPI(t, n.URL, ifTech, ifTechPass)
	const users = "/api/v1/partners/acme/users"

	t.Run("authentication", func(t *testing.T) {
		t.Parallel()
		none := &ifAPI{t: t, base: n.URL}
		none.do("GET", "/api/v1/me", nil).wantError(t, 401, "no token")
		bad := &ifAPI{t: t, base: n.URL, token: "not-a-token"}
		bad.do("GET", "/api/v1/me", nil).wantError(t, 401, "a bad token")
		ans := none.do("GET", users, nil)
		ans.wantError(t, 401, "no token on a list")
		if !strings.HasPrefix(ans.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without WWW-Authenticate: Bearer")
		}
		// A token of this issuer without the admin scope.
		tok := ifSignIn(t, n.URL, ifOwner, ifOwnerPass, "email")
		noScope := &ifAPI{t: t, base: n.URL, token: tok.AccessToken}
		ans = noScope.do("GET", "/api/v1/me", nil)
		if ans.Status != 401 && ans.Status != 403 {
			t.Errorf("a token without the admin scope: %d %s", ans.Status, ans.Body)
		}
		ans.wantError(t, ans.Status, "a token without the admin scope")
	})

	t.Run("me", func(t *testing.T) {
		t.Parallel()
		me := owner.do("GET", "/api/v1/me", nil).want(t, 200, "me").JSON
		checkUserShape(t, me)
		if me["email"] != ifOwner || me["role"] != "owner" || me["partner"] != "acme" {
			t.Errorf("me: %v", me)
		}
	})

	t.Run("list, filters and pages", func(t *testing.T) {
		t.Parallel()
		ans := admin.do("GET", users, nil).want(t, 200, "list")
		list, ok := ans.JSON["users"].([]any)
		if !ok || len(list) < 8 {
			t.Fatalf("list: %s", ans.Body)
		}
		if _, ok := ans.JSON["next_page_token"]; !ok {
			t.Errorf("a list without next_page_token: %s", ans.Body)
		}
		for _, x := range list {
			u := x.(map[string]any)
			checkUserShape(t, u)
			if u["partner"] != "acme" {
				t.Errorf("another partner's user in the list: %v", u)
			}
		}
		byKind := admin.do("GET", users+"?kind=client", nil).want(t, 200, "kind filter").JSON["users"].([]any)
		if len(byKind) != 1 || byKind[0].(map[string]any)["email"] != ifClient {
			t.Errorf("kind=client: %v", byKind)
		}
		byRole := admin.do("GET", users+"?role=support", nil).want(t, 200, "role filter").JSON["users"].([]any)
		if len(byRole) != 2 {
			t.Errorf("role=support: %v", byRole)
		}
		byQ := admin.do("GET", users+"?q=fiona", nil).want(t, 200, "q").JSON["users"].([]any)
		if len(byQ) != 1 || byQ[0].(map[string]any)["email"] != ifFinance {
			t.Errorf("q=fiona: %v", byQ)
		}
		// Pages: two at a time, every user once.
		for _, size := range []string{"limit", "page_size"} {
			var seen []string
			token := ""
			for i := 0; i < 20; i++ {
				q := url.Values{size: {"2"}}
				if token != "" {
					q.Set("page_token", token)
				}
				page := admin.do("GET", users+"?"+q.Encode(), nil).want(t, 200, "page")
				got := page.JSON["users"].([]any)
				if len(got) > 2 {
					t.Fatalf("%s=2 gave %d users", size, len(got))
				}
				for _, x := range got {
					seen = append(seen, x.(map[string]any)["email"].(string))
				}
				token, _ = page.JSON["next_page_token"].(string)
				if token == "" {
					break
				}
			}
			all := []string{}
			for _, x := range list {
				all = append(all, x.(map[string]any)["email"].(string))
			}
			sort.Strings(all)
			sort.Strings(seen)
			if !slices.Equal(all, seen) {
				t.Errorf("paging with %s saw %v, want %v", size, seen, all)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		admin.do("POST", users, "{not json").wantError(t, 400, "malformed JSON")
		admin.do("GET", users+"/no-such-user", nil).wantError(t, 404, "absent user")
		admin.do("GET", "/api/v1/partners/beta/users", nil).wantError(t, 404, "another partner's users")
		bob := ifAdminAPI(t, n.URL, ifOther, ifOtherPass)
		oliviaID := owner.do("GET", "/api/v1/me", nil).JSON["id"].(string)
		// Another partner's user looks absent, by whatever path.
		bob.do("GET", "/api/v1/partners/beta/users/"+oliviaID, nil).wantError(t, 404, "another partner's user under one's own partner")
		bob.do("GET", users+"/"+oliviaID, nil).wantError(t, 404, "another partner's user")
		admin.do("POST", users, map[string]any{"email": ifFinance, "kind": "employee", "role": "tech", "name": "Dup"}).
			wantError(t, 409, "duplicate email")
		admin.do("POST", users, map[string]any{"email": "jdoe2@globex.example", "kind": "co_managing", "organization": "globex",
			"username": "jdoe", "name": "Dup"}).wantError(t, 409, "duplicate username")
		ans := admin.do("POST", users, map[string]any{"email": "not an address", "kind": "employee", "role": "tech", "name": "X"})
		ans.wantError(t, 422, "bad email")
		if !strings.Contains(ans.JSON["error_description"].(string), "email") {
			t.Errorf("422 does not name the field: %s", ans.Body)
		}
		ans = admin.do("POST", users, map[string]any{"email": "x1@acme.example", "kind": "employee", "role": "wizard", "name": "X"})
		ans.wantError(t, 422, "unknown role")
		if !strings.Contains(ans.JSON["error_description"].(string), "role") {
			t.Errorf("422 does not name the field: %s", ans.Body)
		}
	})

	t.Run("ranks", func(t *testing.T) {
		t.Parallel()
		// An admin may not create an admin, nor an owner; a tech nobody.
		admin.do("POST", users, map[string]any{"email": "peer@acme.example", "kind": "employee", "role": "admin", "name": "Peer"}).
			wantError(t, 403, "admin creating an admin")
		admin.do("POST", users, map[string]any{"email": "boss2@acme.example", "kind": "employee", "role": "owner", "name": "Boss"}).
			wantError(t, 403, "admin creating an owner")
		tech.do("POST", users, map[string]any{"email": "t2@acme.example", "kind": "employee", "role": "client", "name": "T"}).
			wantError(t, 403, "tech creating anyone")
		oliviaID := ifFindUser(t, owner, "acme", ifOwner)["id"].(string)
		admin.do("PATCH", users+"/"+oliviaID, map[string]any{"name": "Changed"}).wantError(t, 403, "admin changing the owner")
		admin.do("DELETE", users+"/"+oliviaID, nil).wantError(t, 403, "admin deleting the owner")
		fiona := ifFindUser(t, admin, "acme", ifFinance)["id"].(string)
		admin.do("PATCH", users+"/"+fiona, map[string]any{"role": "admin"}).wantError(t, 403, "admin raising someone to admin")
		tech.do("PATCH", users+"/"+fiona, map[string]any{"name": "Fiona F"}).wantError(t, 403, "tech changing a finance user")
	})

	t.Run("create, change, delete", func(t *testing.T) {
		t.Parallel()
		ans := admin.do("POST", users, map[string]any{"email": "Newbie@Acme.example", "kind": "employee", "role": "support",
			"name": "New Bie", "phone": "+15555550199"}).want(t, 201, "create")
		u := ans.JSON
		checkUserShape(t, u)
		if u["email"] != "newbie@acme.example" || u["role"] != "support" || u["active"] != true || u["sso"] != false ||
			u["password_reset_disabled"] != false || u["phone"] != "+15555550199" || u["partner"] != "acme" {
			t.Errorf("created: %v", u)
		}
		id := u["id"].(string)
		got := admin.do("GET", users+"/"+id, nil).want(t, 200, "get").JSON
		checkUserShape(t, got)

		ch := admin.do("PATCH", users+"/"+id, map[string]any{"name": "New Name", "role": "finance", "phone": "+15555550198",
			"active": false, "password_reset_disabled": true}).want(t, 200, "patch").JSON
		if ch["name"] != "New Name" || ch["role"] != "finance" || ch["phone"] != "+15555550198" || ch["active"] != false ||
			ch["password_reset_disabled"] != true {
			t.Errorf("patched: %v", ch)
		}
		admin.do("PATCH", users+"/"+id, map[string]any{"sso": true}).want(t, 200, "patch sso")
		// An email change waits for the new address to be confirmed.
		ch = admin.do("PATCH", users+"/"+id, map[string]any{"email": "newbie2@acme.example"}).want(t, 200, "patch email").JSON
		if ch["email"] != "newbie@acme.example" {
			t.Errorf("the email changed before confirmation: %v", ch["email"])
		}
		admin.do("PATCH", users+"/"+id, map[string]any{"role": "wizard"}).wantError(t, 422, "patch to an unknown role")

		del := admin.do("DELETE", users+"/"+id, nil)
		if del.Status != 204 || len(del.Body) != 0 {
			t.Errorf("delete: %d %q, want 204 without a body", del.Status, del.Body)
		}
		admin.do("GET", users+"/"+id, nil).wantError(t, 404, "a deleted user")
		admin.do("DELETE", users+"/"+id, nil).wantError(t, 404, "a deleted user, again")
	})

	t.Run("delete ends sessions and tokens", func(t *testing.T) {
		t.Parallel()
		pw := "copper-kettle-harbor-23"
		created := owner.do("POST", users, map[string]any{"email": "leaver@acme.example", "kind": "employee", "role": "tech", "name": "Lea Ver"}).
			want(t, 201, "create").JSON
		ifSetPasswordViaInvite(t, n, "leaver@acme.example", pw)
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email", "offline_access")
		b := newBrowser(t, n.URL)
		tok := ifCode(t, r, b, ifSteps{User: "leaver@acme.example", Pass: pw})
		owner.do("DELETE", users+"/"+created["id"].(string), nil).want(t, 204, "delete")
		if ifIntrospect(t, n.URL, ifAcademyID, ifAcademySec, tok.AccessToken)["active"] != false {
			t.Errorf("a deleted user's access token is active")
		}
		if ifIntrospect(t, n.URL, ifAcademyID, ifAcademySec, tok.RefreshToken)["active"] != false {
			t.Errorf("a deleted user's refresh token is active")
		}
		req, _ := http.NewRequest("GET", n.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
			t.Errorf("UserInfo for a deleted user: %v %v", err, resp.StatusCode)
		}
		if _, err := r.conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Errorf("a deleted user's refresh token was accepted")
		}
		p := b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if p.Location != nil {
			t.Errorf("a deleted user's session still signs in")
		}
	})

	t.Run("unlock, MFA pause and reset, policy, notifications", func(t *testing.T) {
		t.Parallel()
		nora := ifFindUser(t, admin, "acme", ifNoReset)["id"].(string)
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		b := newBrowser(t, n.URL)
		for i := 0; i < 5; i++ {
			b.signIn(b.get(r.conf.AuthCodeURL("state-e2e-0123456789")), ifNoReset, "wrong")
		}
		if admin.do("GET", users+"/"+nora, nil).JSON["locked"] != true {
			t.Fatalf("not locked after five failures")
		}
		ans := admin.do("POST", users+"/"+nora+"/unlock", nil)
		if ans.Status != 204 {
			t.Fatalf("unlock: %d %s", ans.Status, ans.Body)
		}
		if admin.do("GET", users+"/"+nora, nil).JSON["locked"] != false {
			t.Fatalf("still locked after unlock")
		}
		ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifNoReset, Pass: ifNoResetPass})

		jdoe := ifFindUser(t, admin, "acme", ifCoMan)
		id := jdoe["id"].(string)
		if m := jdoe["mfa"].(map[string]any); m["required"] != true || !slices.Contains(ifStrs(m["factors"]), "totp") {
			t.Errorf("co-managing user's mfa: %v", m)
		}
		pause := admin.do("POST", users+"/"+id+"/mfa/pause", map[string]any{"until": "next_login", "reason": "lost phone"}).
			want(t, 200, "pause next_login").JSON
		if len(pause) == 0 {
			t.Errorf("the pause answer is empty")
		}
		if m := admin.do("GET", users+"/"+id, nil).JSON["mfa"].(map[string]any); m["pause_next_login"] != true {
			t.Errorf("after a next_login pause: %v", m)
		}
		admin.do("POST", users+"/"+id+"/mfa/pause", map[string]any{"until": "24h", "reason": "travel"}).want(t, 200, "pause 24h")
		m := admin.do("GET", users+"/"+id, nil).JSON["mfa"].(map[string]any)
		until, _ := m["paused_until"].(string)
		if ts, err := time.Parse(time.RFC3339, until); err != nil || ts.Before(time.Now().Add(23*time.Hour)) {
			t.Errorf("after a 24h pause, paused_until %v", m["paused_until"])
		}
		admin.do("POST", users+"/"+id+"/mfa/pause", map[string]any{"until": "forever"}).wantError(t, 422, "a bad pause")
		// The pause skips the factor, but not for a relying party that
		// asks for one.
		rp := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		pb := newBrowser(t, n.URL)
		if p := pb.signIn(pb.get(rp.conf.AuthCodeURL("s-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), ifCoManLogin, ifCoManPass); p.Location == nil {
			t.Errorf("a paused second factor was asked for (%d at %s)", p.Status, p.URL)
		}
		pb = newBrowser(t, n.URL)
		if p := pb.signIn(pb.get(rp.conf.AuthCodeURL("s-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("acr_values", "mfa"))), ifCoManLogin, ifCoManPass); p.Location != nil || !p.hasField("code") {
			t.Errorf("acr_values=mfa skipped the factor during a pause (%d at %s, %v)", p.Status, p.URL, p.Location)
		}
		pol := admin.do("GET", users+"/"+id+"/policy", nil).want(t, 200, "policy").JSON
		// Effective policy: the factor is required by kind, and paused.
		if m, _ := pol["mfa"].(map[string]any); m == nil || len(ifStrs(m["reasons"])) == 0 || m["paused_until"] == nil {
			t.Errorf("policy of a paused co-managing user: %v", pol)
		}
		sam := ifFindUser(t, admin, "acme", ifSSO)["id"].(string)
		pol = admin.do("GET", users+"/"+sam+"/policy", nil).want(t, 200, "policy").JSON
		if !strings.Contains(fmt.Sprint(pol["sso"]), "acme-entra") {
			t.Errorf("policy of an SSO user does not name the connection: %v", pol)
		}
		pol = admin.do("GET", users+"/"+nora+"/policy", nil).want(t, 200, "policy").JSON
		if pr, _ := pol["password_reset"].(map[string]any); pr == nil || pr["allowed"] != false {
			t.Errorf("policy of a user with password_reset_disabled: %v", pol)
		}
		if ans := admin.do("DELETE", users+"/"+id+"/mfa/pause", nil); ans.Status != 204 {
			t.Errorf("end pause: %d %s", ans.Status, ans.Body)
		}
		m = admin.do("GET", users+"/"+id, nil).JSON["mfa"].(map[string]any)
		if m["paused_until"] != nil || m["pause_next_login"] != false {
			t.Errorf("after ending the pause: %v", m)
		}
		if ans := admin.do("DELETE", users+"/"+id+"/mfa", nil); ans.Status/100 != 2 {
			t.Errorf("reset factors: %d %s", ans.Status, ans.Body)
		}
		m = admin.do("GET", users+"/"+id, nil).JSON["mfa"].(map[string]any)
		if len(ifStrs(m["factors"])) != 0 || m["required"] != true {
			t.Errorf("after a reset: %v", m)
		}
		// A mandatory factor: enrol again at the next sign-in.
		pb = newBrowser(t, n.URL)
		if p := pb.signIn(pb.get(rp.conf.AuthCodeURL("s-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), ifCoManLogin, ifCoManPass); !strings.Contains(p.Body, "otpauth://totp/") {
			t.Errorf("no enrolment after the factors were removed (%d at %s)", p.Status, p.URL)
		}

		// Notifications: a finance user may get invoices, not errors.
		fiona := ifFindUser(t, admin, "acme", ifFinance)["id"].(string)
		ok := admin.do("PUT", users+"/"+fiona+"/notifications", map[string]any{"error": false, "invoice": true, "general": false, "frequency": "weekly"})
		if ok.Status/100 != 2 {
			t.Fatalf("notifications: %d %s", ok.Status, ok.Body)
		}
		nt := admin.do("GET", users+"/"+fiona, nil).JSON["notifications"].(map[string]any)
		if nt["invoice"] != true || nt["frequency"] != "weekly" {
			t.Errorf("notifications after PUT: %v", nt)
		}
		admin.do("PUT", users+"/"+fiona+"/notifications", map[string]any{"error": true, "invoice": true, "general": false, "frequency": "weekly"}).
			wantError(t, 422, "a type the role may not receive")
		admin.do("PUT", users+"/"+fiona+"/notifications", map[string]any{"error": false, "invoice": true, "general": false, "frequency": "hourly"}).
			wantError(t, 422, "a bad frequency")
	})

	t.Run("organizations", func(t *testing.T) {
		t.Parallel()
		const orgs = "/api/v1/partners/acme/organizations"
		list := admin.do("GET", orgs, nil).want(t, 200, "list").JSON
		all, _ := list["organizations"].([]any)
		if len(all) != 2 {
			t.Fatalf("organizations: %v", list)
		}
		for _, x := range all {
			o := x.(map[string]any)
			for _, k := range []string{"id", "name", "co_management", "saas_account", "mapped"} {
				if _, ok := o[k]; !ok {
					t.Errorf("organization lacks %s: %v", k, o)
				}
			}
		}
		unmapped := admin.do("GET", orgs+"?mapped=false", nil).want(t, 200, "unmapped").JSON["organizations"].([]any)
		if len(unmapped) != 1 || unmapped[0].(map[string]any)["id"] != "initech" {
			t.Errorf("mapped=false: %v", unmapped)
		}
		o := admin.do("POST", orgs, map[string]any{"id": "hooli", "name": "Hooli", "co_management": false}).want(t, 201, "create").JSON
		if o["id"] != "hooli" || o["mapped"] != false {
			t.Errorf("created organization %v", o)
		}
		admin.do("POST", orgs, map[string]any{"id": "hooli", "name": "Hooli"}).wantError(t, 409, "duplicate organization")
		o = admin.do("PATCH", orgs+"/hooli", map[string]any{"saas_account": "SP-9", "name": "Hooli Inc"}).want(t, 200, "patch").JSON
		if o["mapped"] != true || o["saas_account"] != "SP-9" || o["name"] != "Hooli Inc" {
			t.Errorf("patched organization %v", o)
		}
		admin.do("GET", orgs+"/hooli", nil).want(t, 200, "get")
		admin.do("GET", "/api/v1/partners/beta/organizations/hooli", nil).wantError(t, 404, "another partner's organizations")
		if ans := admin.do("DELETE", orgs+"/hooli", nil); ans.Status != 204 {
			t.Errorf("delete organization: %d %s", ans.Status, ans.Body)
		}
		admin.do("GET", orgs+"/hooli", nil).wantError(t, 404, "a deleted organization")
	})

	t.Run("connections", func(t *testing.T) {
		t.Parallel()
		const conns = "/api/v1/partners/acme/connections"
		list := admin.do("GET", conns, nil).want(t, 200, "list").JSON
		if cs, _ := list["connections"].([]any); len(cs) != 1 {
			t.Errorf("connections: %v", list)
		}
		c := admin.do("POST", conns, map[string]any{"id": "acme-google", "type": "oidc", "issuer": "https://accounts.google.com",
			"client_id": "gh", "client_secret": "shh"}).want(t, 201, "create").JSON
		if c["id"] != "acme-google" || c["type"] != "oidc" {
			t.Errorf("created connection %v", c)
		}
		admin.do("PATCH", conns+"/acme-google", map[string]any{"client_id": "gh2"}).want(t, 200, "patch")
		if c := admin.do("GET", conns+"/acme-google", nil).want(t, 200, "get").JSON; c["client_id"] != "gh2" {
			t.Errorf("patched connection %v", c)
		}
		if ans := admin.do("DELETE", conns+"/acme-google", nil); ans.Status != 204 {
			t.Errorf("delete connection: %d %s", ans.Status, ans.Body)
		}
		admin.do("GET", conns+"/acme-google", nil).wantError(t, 404, "a deleted connection")
	})
}

// The audit log: newest first, its shape and the actions of section 8.
func TestInterfaceAdminAudit(t *testing.T) {
	t.Parallel()
	n := ifStart(t, ifNodeOptions{})
	owner := ifAdminAPI(t, n.URL, ifOwner, ifOwnerPass)
	const users = "/api/v1/partners/acme/users"
	u := owner.do("POST", users, map[string]any{"email": "audited@acme.example", "kind": "employee", "role": "tech", "name": "Audi Ted"}).
		want(t, 201, "create").JSON
	id := u["id"].(string)
	owner.do("PATCH", users+"/"+id, map[string]any{"name": "Audi Ted II"}).want(t, 200, "update")
	owner.do("POST", users+"/"+id+"/unlock", nil).want(t, 204, "unlock")
	jdoe := ifFindUser(t, owner, "acme", ifCoMan)["id"].(string)
	owner.do("POST", users+"/"+jdoe+"/mfa/pause", map[string]any{"until": "next_login", "reason": "lost phone 42"}).want(t, 200, "pause")
	if ans := owner.do("DELETE", users+"/"+jdoe+"/mfa", nil); ans.Status/100 != 2 {
		t.Fatalf("mfa reset: %d", ans.Status)
	}
	owner.do("PATCH", "/api/v1/partners/acme/organizations/initech", map[string]any{"name": "Initech Ltd"}).want(t, 200, "org update")
	owner.do("DELETE", users+"/"+id, nil).want(t, 204, "delete")

	ans := owner.do("GET", "/api/v1/partners/acme/audit", nil).want(t, 200, "audit")
	events, _ := ans.JSON["events"].([]any)
	if _, ok := ans.JSON["next_page_token"]; !ok {
		t.Errorf("audit without next_page_token: %s", ans.Body)
	}
	var actions []string
	var last time.Time
	for i, x := range events {
		e := x.(map[string]any)
		for _, k := range []string{"id", "time", "actor", "action", "target", "ip", "details"} {
			if _, ok := e[k]; !ok {
				t.Errorf("audit event lacks %s: %v", k, e)
			}
		}
		ts, err := time.Parse(time.RFC3339, fmt.Sprint(e["time"]))
		if err != nil {
			t.Errorf("event time %v", e["time"])
		}
		if i > 0 && ts.After(last) {
			t.Errorf("audit log not newest first")
		}
		last = ts
		actions = append(actions, fmt.Sprint(e["action"]))
		if e["action"] == "mfa.pause" && !strings.Contains(fmt.Sprint(e["details"]), "lost phone 42") {
			t.Errorf("mfa.pause not audited with its reason: %v", e)
		}
	}
	for _, a := range []string{"user.create", "user.update", "user.delete", "user.unlock", "mfa.pause", "mfa.reset", "organization.update"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit lacks %s: %v", a, actions)
		}
	}
	if len(actions) > 0 && actions[0] != "user.delete" {
		t.Errorf("newest event %s, want user.delete", actions[0])
	}
	ifAnswerNotFound(t, owner.do("GET", "/api/v1/partners/beta/audit", nil))
}

func ifAnswerNotFound(t testing.TB, a ifAnswer) {
	t.Helper()
	a.wantError(t, 404, "another partner's audit log")
}
