package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// INTERFACE.md section 9: mail.

func TestInterfaceMail(t *testing.T) {
	t.Parallel()
	n := ifStart(t, ifNodeOptions{Mail: true})
	owner := ifAdminAPI(t, n.URL, ifOwner, ifOwnerPass)
	const users = "/api/v1/partners/acme/users"

	t.Run("invitation", func(t *testing.T) {
		owner.do("POST", users, map[string]any{"email": "invitee@acme.example", "kind": "employee", "role": "support", "name": "In Vitee"}).
			want(t, 201, "create")
		inv := n.Inbox.WaitFor(t, "invitee@acme.example")
		link := inv.Link(n.URL)
		if link == "" {
			t.Fatalf("the invitation has no link:\n%s", inv.Text)
		}
		if !strings.Contains(inv.Text, "72 hours") && !strings.Contains(inv.Text, "3 days") {
			t.Errorf("the invitation does not say how long its link lasts:\n%s", inv.Text)
		}
		// The partner's primary address hears of it, without the link.
		notice := n.Inbox.WaitFor(t, "owner@acme.example")
		if strings.Contains(notice.Text+notice.HTML, link) || notice.Link(n.URL+"/invite") != "" {
			t.Errorf("the notice to the partner carries the invitation link:\n%s", notice.Text)
		}
		if !strings.Contains(notice.Text, "invitee@acme.example") {
			t.Errorf("the notice does not name the new account:\n%s", notice.Text)
		}
		// The link sets a password once.
		b := newBrowser(t, n.URL)
		p := b.get(link)
		p = b.submit(p, "password_confirm", map[string]string{"password": "lantern-quiet-meadow-19", "password_confirm": "lantern-quiet-meadow-19"})
		if p.Status >= 400 {
			t.Fatalf("set-password: %d:\n%s", p.Status, p.Body)
		}
		ifSignIn(t, n.URL, "invitee@acme.example", "lantern-quiet-meadow-19", "email")
		again := newBrowser(t, n.URL).get(link)
		if again.hasField("password_confirm") && again.Status < 400 {
			t.Errorf("the invitation link works twice")
		}
	})

	t.Run("invitation with a second factor", func(t *testing.T) {
		owner.do("POST", users, map[string]any{"email": "jane.roe@globex.example", "kind": "co_managing", "organization": "globex",
			"username": "jroe", "name": "Jane Roe"}).want(t, 201, "create")
		link := n.Inbox.WaitFor(t, "jane.roe@globex.example").Link(n.URL)
		n.Inbox.WaitFor(t, "owner@acme.example")
		b := newBrowser(t, n.URL)
		p := b.submit(b.get(link), "password_confirm", map[string]string{"password": "velvet-harbor-canyon-64", "password_confirm": "velvet-harbor-canyon-64"})
		// A co-managing user must use a second factor: enrolment follows,
		// now or at the first sign-in.
		if !strings.Contains(p.Body, "otpauth://totp/") {
			r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email")
			b = newBrowser(t, n.URL)
			p = b.signIn(b.get(r.conf.AuthCodeURL("state-e2e-0123456789")), "jroe@acme.example", "velvet-harbor-canyon-64")
		}
		if !strings.Contains(p.Body, "otpauth://totp/") || !p.hasField("code") {
			t.Fatalf("no second-factor enrolment for an invited co-managing user (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
	})

	t.Run("forgot password", func(t *testing.T) {
		norm := regexp.MustCompile(`value="[^"]*"`)
		ask := func(username string) *page {
			b := newBrowser(t, n.URL)
			p := b.get(n.URL + "/login/forgot")
			return b.submit(p, "username", map[string]string{"username": username})
		}
		sent := ask(ifFinance)
		m := n.Inbox.WaitFor(t, ifFinance)
		link := m.Link(n.URL)
		if link == "" {
			t.Fatalf("the reset mail has no link:\n%s", m.Text)
		}
		refused := ask(ifNoReset)
		unknown := ask("nobody-at-all@acme.example")
		// The same page, but for the name it echoes and its tokens.
		same := func(p *page, username string) string {
			return norm.ReplaceAllString(strings.ReplaceAll(p.Body, username, "NAME"), "")
		}
		for name, c := range map[string]struct {
			p    *page
			user string
		}{"password_reset_disabled": {refused, ifNoReset}, "unknown": {unknown, "nobody-at-all@acme.example"}} {
			p := c.p
			if p.Status != sent.Status || same(p, c.user) != same(sent, ifFinance) {
				t.Errorf("the forgot page answers a %s user differently (%d):\n%s\n--- vs ---\n%s", name, p.Status, p.Body, sent.Body)
			}
		}
		b := newBrowser(t, n.URL)
		p := b.submit(b.get(link), "password_confirm", map[string]string{"password": "saffron-river-comet-88", "password_confirm": "saffron-river-comet-88"})
		if p.Status >= 400 {
			t.Fatalf("reset: %d:\n%s", p.Status, p.Body)
		}
		ifSignIn(t, n.URL, ifFinance, "saffron-river-comet-88", "email")
		if again := newBrowser(t, n.URL).get(link); again.hasField("password_confirm") && again.Status < 400 {
			t.Errorf("the reset link works twice")
		}
		// Nothing went to the user whose reset is disabled, nor anywhere
		// for the unknown name (the mail queue has had its chance: the
		// reset mail sent after them arrived).
		if got := n.Inbox.For(ifNoReset); len(got) != 0 {
			t.Errorf("a reset mail went to a user with password_reset_disabled: %q", got[0].Subject)
		}
		if got := n.Inbox.For("nobody-at-all@acme.example"); len(got) != 0 {
			t.Errorf("mail went to an unknown address")
		}
	})

	t.Run("pause notice", func(t *testing.T) {
		id := ifFindUser(t, owner, "acme", ifCoMan)["id"].(string)
		owner.do("POST", users+"/"+id+"/mfa/pause", map[string]any{"until": "next_login", "reason": "new phone"}).want(t, 200, "pause")
		n.Inbox.WaitFor(t, ifCoMan)
	})

	t.Run("email change", func(t *testing.T) {
		id := ifFindUser(t, owner, "acme", ifTech)["id"].(string)
		owner.do("PATCH", users+"/"+id, map[string]any{"email": "tess.new@acme.example"}).want(t, 200, "patch email")
		m := n.Inbox.WaitFor(t, "tess.new@acme.example")
		link := m.Link(n.URL)
		if link == "" {
			t.Fatalf("the confirmation has no link:\n%s", m.Text)
		}
		b := newBrowser(t, n.URL)
		p := b.get(link)
		if len(p.Forms) == 1 && p.Location == nil && !p.hasField("username") {
			p = b.submit(p, ifFirstField(p.Forms[0]), nil)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			u := owner.do("GET", users+"/"+id, nil).want(t, 200, "get").JSON
			if u["email"] == "tess.new@acme.example" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the address did not change after confirmation (%d at %s): %v\n%s", p.Status, p.URL, u, p.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
