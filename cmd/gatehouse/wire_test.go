package main

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"gatehouse/provider/account"
	"gatehouse/provider/admin"
)

func TestInviteRefusal(t *testing.T) {
	for _, c := range []struct {
		err  error
		want admin.InviteRefusal
	}{
		{account.ErrAlreadySetUp, admin.InviteSetUp},
		{fmt.Errorf("resend: %w", account.ErrInactive), admin.InviteInactive},
		{errors.New("smtp: 421 try later"), admin.InviteFailed},
	} {
		if got := inviteRefusal(c.err); got != c.want {
			t.Errorf("inviteRefusal(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

const wireSeed = `
partners:
  - id: acme
    name: Acme MSP
    domain: acme.example
    primary_email: olivia@acme.example
users:
  - email: olivia@acme.example
    partner: acme
    kind: employee
    role: owner
    name: Olivia Owner
    password: "olivia-lantern-harbor-42"
  - email: newbie@acme.example
    partner: acme
    kind: employee
    role: tech
    name: Nina Newbie
connections:
  - id: acme-idp
    partner: acme
    type: oidc
    issuer: https://127.0.0.1:1/tenant
    client_id: gatehouse
`

// The console of a started node reaches federation's connection test and
// account's invitations through the wiring.
func TestWiredConsoleActions(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("seed.yaml", []byte(wireSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	// The issuer must be the address the browser uses: take a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := startServe(t, []string{"GATEHOUSE_LISTEN=" + addr, "GATEHOUSE_ISSUER=http://" + addr}, "--seed", "seed.yaml")

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (string, string) {
		t.Helper()
		resp, err := c.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Request.URL.RequestURI(), string(b)
	}
	// post sends the page's form at action with its hidden fields and more.
	post := func(page, action string, more url.Values) (string, string) {
		t.Helper()
		form := url.Values{}
		for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		for k, v := range more {
			form[k] = v
		}
		resp, err := c.PostForm(s.url+action, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", action, resp.StatusCode, b)
		}
		return resp.Request.URL.RequestURI(), string(b)
	}

	where, body := get("/admin/connections/acme-idp")
	if !strings.HasPrefix(where, "/login") {
		t.Fatalf("not sent to sign in: %s", where)
	}
	action := html.UnescapeString(regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(body)[1])
	where, body = post(body, action, url.Values{"username": {"olivia@acme.example"}, "password": {"olivia-lantern-harbor-42"}})
	if where != "/admin/connections/acme-idp" {
		t.Fatalf("after sign-in at %s: %s", where, body)
	}
	if !strings.Contains(body, "http://"+addr+"/federation/acme-idp/callback") {
		t.Errorf("connection page lacks the redirect URI")
	}

	// Federation's own test, reported check by check: the upstream's
	// address is private, which a node refuses by default.
	where, body = post(body, "/admin/connections/acme-idp/test", nil)
	if !strings.HasPrefix(where, "/admin/connections/acme-idp?test=") || !strings.Contains(body, "Problems found") ||
		!strings.Contains(body, "discovery") || !strings.Contains(body, "127.0.0.1") {
		t.Errorf("test report at %s: %s", where, body)
	}

	// Account's invitation, resent from the user's page.
	_, body = get("/admin/employees?q=newbie")
	id := regexp.MustCompile(`href="/admin/users/([0-9a-f]+)"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no newbie in the list: %s", body)
	}
	_, body = get("/admin/users/" + id[1])
	_, body = post(body, "/admin/users/"+id[1]+"/invite", nil)
	if !strings.Contains(body, "A new invitation is on its way") {
		t.Errorf("resend: %s", body)
	}
	_, body = get("/admin/audit")
	for _, a := range []string{"connection.test", "user.invite"} {
		if !strings.Contains(body, a) {
			t.Errorf("audit lacks %s", a)
		}
	}
}
