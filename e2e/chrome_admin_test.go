package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gatehouse/mail/mailtest"
)

// Demo users the console test acts on (seed/demo.yaml).
const (
	tessEmail    = "tess@acme.example"
	tessPassword = "tess-granite-willow-58"
	jdoeLogin    = "jdoe@acme.example"
	jdoeEmail    = "john.doe@globex.example"
	jdoePassword = "jdoe-cobalt-thistle-29"
)

// TestAdminConsoleInChromium drives /admin as the demo owner: creates an
// employee with the keyboard alone, pauses a co-managing user's second
// factor for the next sign-in and then for 24 hours, and unlocks a user
// locked by failed sign-ins, checking each outcome where an admin would
// see it and where it acts (the mail sent, the next sign-in). Every page is
// saved as a screenshot; the lists and forms are also checked at a phone's
// width.
func TestAdminConsoleInChromium(t *testing.T) {
	smtp, inbox := mailtest.NewServer(t)
	const threshold = 3
	n := startNode(t, nodeOptions{Args: []string{"--demo"}, Env: []string{
		"GATEHOUSE_MAIL_SMTP=" + smtp,
		fmt.Sprintf("GATEHOUSE_SECURITY_LOCKOUT_THRESHOLD=%d", threshold),
	}})

	// Tess fails to sign in threshold times through plain HTTP, and is locked.
	for i := range threshold {
		if p := httpSignIn(t, n, tessEmail, fmt.Sprintf("not-her-password-%d", i)); p.URL.Path == "/account" ||
			(p.Status != http.StatusUnauthorized && p.Status != http.StatusForbidden) {
			t.Fatalf("a wrong password was answered %d at %s", p.Status, p.URL)
		}
	}
	if p := httpSignIn(t, n, tessEmail, tessPassword); !strings.Contains(p.Body, "locked") {
		t.Fatalf("after %d failures the right password is not refused as locked (%d at %s)", threshold, p.Status, p.URL)
	}

	c := newChrome(t, n.URL)
	c.open("/admin")
	c.signIn(ownerEmail, ownerPassword)
	if p := c.path(); p != "/admin/employees" {
		t.Fatalf("the console opened at %s, not the employee list", p)
	}
	c.screenshot("employees")

	createEmployee(t, c)
	invite := inbox.WaitFor(t, "dana@acme.example")
	if link := invite.Link("/invite"); !strings.HasPrefix(link, n.URL+"/invite") {
		t.Errorf("the invitation %q has no link to %s/invite:\n%s", invite.Subject, n.URL, invite.Text)
	}

	pauseCoManaging(t, c, n, inbox)

	unlockTess(t, c, n)

	c.do("open the audit log", clickAndLoad(chromedp.CSS(`nav.admin-nav a[href="/admin/audit"]`)))
	c.screenshot("audit")
	audit := c.text("main table")
	for _, action := range []string{"user.create", "mfa.pause", "user.unlock"} {
		if !strings.Contains(audit, action) {
			t.Errorf("the audit log has no %s:\n%s", action, audit)
		}
	}
	phoneWidth(t, c, "audit")
}

// createEmployee adds Dana through the form using only the keyboard: each
// Tab must land on the next field in reading order, every focused control
// must show that it has focus, and Enter on the submit button sends it.
func createEmployee(t *testing.T, c *chrome) {
	t.Helper()
	c.do("open the new-employee form", clickAndLoad(chromedp.CSS(`a.button[href="/admin/users/new?kind=employee"]`)))
	c.do("wait for the form", chromedp.WaitVisible(chromedp.ID("name")))
	c.screenshot("new-employee")
	phoneWidth(t, c, "new-employee")

	// Start where a keyboard user tabbing in from the navigation would.
	c.do("focus the first field", chromedp.Focus(chromedp.ID("name")))
	var order []string
	// A closed select takes a typed letter, as a keyboard user picks a
	// role: "t" is tech, the only employee role that starts with it.
	typeInto := map[string]string{"name": "Dana Developer", "email": "dana@acme.example", "role": "t", "phone": "+15555550123"}
	for range 20 {
		el := focused(c)
		order = append(order, el.Label)
		if !el.Ring {
			t.Errorf("%s shows no focus indicator", el.Label)
		}
		if text, ok := typeInto[el.ID]; ok {
			c.do("type into "+el.ID, chromedp.KeyEvent(text))
		}
		if el.Tag == "button" {
			break
		}
		c.do("press Tab", chromedp.KeyEvent(kb.Tab))
	}
	want := []string{"input#name", "input#email", "select#role", "input#phone", "input[active]", "input[password_reset_disabled]", "button:Create employee"}
	if strings.Join(order, " → ") != strings.Join(want, " → ") {
		t.Errorf("Tab order on the form:\n got %s\nwant %s", strings.Join(order, " → "), strings.Join(want, " → "))
	}
	if order[len(order)-1] != "button:Create employee" {
		t.Fatalf("the submit button is not reachable with Tab (got as far as %s)", order[len(order)-1])
	}
	if role := evalJS[string](c, `document.getElementById("role").value`); role != "tech" {
		t.Errorf("typing on the role list chose %q, not tech", role)
	}
	c.screenshot("new-employee-filled")
	c.do("press Enter on the submit button", keyAndLoad(kb.Enter))

	if p := c.path(); !strings.HasPrefix(p, "/admin/users/") || !strings.Contains(p, "done=created") {
		t.Fatalf("after creating, the browser is at %s", p)
	}
	c.screenshot("employee-created")
	if notice := c.text("p.notice"); !strings.Contains(notice, "invitation") {
		t.Errorf("no notice of the invitation: %q", notice)
	}
	facts := c.text("dl.facts")
	for _, want := range []string{"dana@acme.example", "+15555550123", "tech"} {
		if !strings.Contains(facts, want) {
			t.Errorf("the new employee's page lacks %q:\n%s", want, facts)
		}
	}
	c.do("back to the list", clickAndLoad(chromedp.CSS(`a[href="/admin/employees"]:not(nav a)`)))
	c.screenshot("employees-with-dana")
	if list := c.text("main table"); !strings.Contains(list, "Dana Developer") || !strings.Contains(list, "dana@acme.example") {
		t.Errorf("the employee list lacks Dana:\n%s", list)
	}
	phoneWidth(t, c, "employees")
}

// pauseCoManaging pauses John Doe's second factor for his next sign-in,
// sees that sign-in skip it and use the pause up, then pauses it for 24
// hours; each pause is shown on his page with its reason.
func pauseCoManaging(t *testing.T, c *chrome, n *node, inbox *mailtest.Inbox) {
	t.Helper()
	c.do("open the co-managing users", clickAndLoad(chromedp.CSS(`nav.admin-nav a[href="/admin/co-managing"]`)))
	c.screenshot("co-managing")
	c.do("open John Doe", clickAndLoad(chromedp.Search(`//a[normalize-space()="John Doe"]`)))
	userURL := c.path()
	c.screenshot("jdoe")
	phoneWidth(t, c, "jdoe")
	if facts := c.text("dl.facts"); strings.Contains(facts, "Paused") {
		t.Fatalf("John Doe's second factor is paused before anyone paused it:\n%s", facts)
	}

	c.do("pause for the next sign-in",
		chromedp.Click(chromedp.CSS(`input[name="until"][value="next_login"]`), chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.ID("reason"), "Lost his phone"),
		clickAndLoad(chromedp.Search(`//button[normalize-space()="Pause second factor"]`)),
	)
	c.screenshot("jdoe-paused-next-login")
	if notice := c.text("p.notice"); !strings.Contains(notice, "paused") {
		t.Errorf("no notice of the pause: %q", notice)
	}
	if facts := c.text("dl.facts"); !strings.Contains(facts, "paused for the next sign-in (Lost his phone)") {
		t.Errorf("the next-login pause is not shown with its reason:\n%s", facts)
	}
	if m := inbox.WaitFor(t, jdoeEmail); !strings.Contains(m.Text, "Lost his phone") {
		t.Errorf("the mail telling John Doe of the pause does not give its reason:\n%s", m.Text)
	}

	// The pause acts: his sign-in goes straight through, with no second
	// factor asked for or enrolled, and the pause is used up.
	if p := httpSignIn(t, n, jdoeLogin, jdoePassword); p.URL.Path != "/account" {
		t.Fatalf("with a next-login pause John Doe's sign-in stopped at %s (%d)", p.URL, p.Status)
	}
	c.open(userURL)
	if facts := c.text("dl.facts"); strings.Contains(facts, "Paused") {
		t.Errorf("the next-login pause is still shown after the sign-in used it:\n%s", facts)
	}

	c.do("pause for 24 hours",
		chromedp.Click(chromedp.CSS(`input[name="until"][value="24h"]`), chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.ID("reason"), "New phone arrives tomorrow"),
		clickAndLoad(chromedp.Search(`//button[normalize-space()="Pause second factor"]`)),
	)
	c.screenshot("jdoe-paused-24h")
	if m := inbox.WaitFor(t, jdoeEmail); !strings.Contains(m.Text, "New phone arrives tomorrow") {
		t.Errorf("the mail telling John Doe of the 24-hour pause does not give its reason:\n%s", m.Text)
	}
	if facts := c.text("dl.facts"); !strings.Contains(facts, "Second factor paused until ") || !strings.Contains(facts, "(New phone arrives tomorrow)") {
		t.Errorf("the 24-hour pause is not shown with its end and reason:\n%s", facts)
	}
	c.do("back to the co-managing users", clickAndLoad(chromedp.CSS(`nav.admin-nav a[href="/admin/co-managing"]`)))
	c.screenshot("co-managing-paused")
	if list := c.text("main table"); !strings.Contains(list, "2FA paused") {
		t.Errorf("the co-managing list does not show the pause:\n%s", list)
	}
}

// unlockTess finds Tess shown as locked, unlocks her, and checks that her
// failure count was forgotten too: one more wrong password does not lock
// her again, and her own password signs her in.
func unlockTess(t *testing.T, c *chrome, n *node) {
	t.Helper()
	c.do("open the employees", clickAndLoad(chromedp.CSS(`nav.admin-nav a[href="/admin/employees"]`)))
	if list := c.text("main table"); !strings.Contains(list, "Locked") {
		t.Errorf("the employee list does not show Tess as locked:\n%s", list)
	}
	c.do("open Tess Tech", clickAndLoad(chromedp.Search(`//a[normalize-space()="Tess Tech"]`)))
	c.screenshot("tess-locked")
	if facts := c.text("dl.facts"); !strings.Contains(facts, "Locked") {
		t.Fatalf("Tess is not shown as locked:\n%s", facts)
	}
	c.do("unlock", clickAndLoad(chromedp.Search(`//button[normalize-space()="Unlock account"]`)))
	c.screenshot("tess-unlocked")
	if notice := c.text("p.notice"); !strings.Contains(notice, "Unlocked") {
		t.Errorf("no notice of the unlock: %q", notice)
	}
	if facts := c.text("dl.facts"); strings.Contains(facts, "Locked") {
		t.Errorf("Tess is still shown as locked:\n%s", facts)
	}
	if n := evalJS[int](c, `document.querySelectorAll("form[action$='/unlock']").length`); n != 0 {
		t.Error("the unlock form is still offered")
	}

	if p := httpSignIn(t, n, tessEmail, "one-more-wrong-password"); strings.Contains(p.Body, "locked") {
		t.Fatal("one wrong password after the unlock locked Tess again: the failure count was kept")
	}
	if p := httpSignIn(t, n, tessEmail, tessPassword); p.URL.Path != "/account" {
		t.Fatalf("after the unlock Tess's sign-in stopped at %s (%d)", p.URL, p.Status)
	}
}

// focusedElement describes document.activeElement the way a test reads a
// Tab order: input#id, select#id, input[name] for checkboxes, button:text.
type focusedElement struct {
	Label string `json:"label"`
	ID    string `json:"id"`
	Tag   string `json:"tag"`
	Ring  bool   `json:"ring"` // an outline or a box-shadow marks it
}

func focused(c *chrome) focusedElement {
	c.t.Helper()
	return evalJS[focusedElement](c, `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {label: "body", id: "", tag: "body", ring: false};
  const tag = e.tagName.toLowerCase();
  let label = tag + "#" + e.id;
  if (tag === "input" && (e.type === "checkbox" || e.type === "radio")) label = "input[" + e.name + "]";
  if (tag === "button" || tag === "a") label = tag + ":" + e.textContent.trim();
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  return {label: label, id: e.id, tag: tag, ring: ring};
})()`)
}

// phoneWidth shows the current page as a 390x844 phone would, saves it, and
// fails when the page is wider than the screen (a sideways scroll); then
// returns to the laptop size.
func phoneWidth(t *testing.T, c *chrome, name string) {
	t.Helper()
	c.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	c.screenshot(name + "-phone")
	if w := evalJS[int](c, `document.documentElement.scrollWidth`); w > 390 {
		wide := evalJS[[]string](c, `Array.from(document.querySelectorAll("main *")).filter(e => e.getBoundingClientRect().right > 390).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : ""))`)
		t.Errorf("%s is %dpx wide on a 390px phone; too wide: %v", name, w, wide)
	}
	c.do("laptop width", chromedp.EmulateViewport(1280, 900))
}

// httpSignIn signs in with a fresh cookie jar through the sign-in page, as
// a user's browser without JavaScript would, and returns where it ended.
func httpSignIn(t *testing.T, n *node, username, password string) *page {
	t.Helper()
	b := newBrowser(t, n.URL)
	p := b.get(n.URL + "/account")
	return b.signIn(p, username, password)
}
