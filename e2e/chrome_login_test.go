package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestLoginPageInChromium checks the sign-in page as a browser sees it: no
// console errors and no Content-Security-Policy violations (the recorder
// is first shown to catch one), the username field focused, and the
// password path working with JavaScript turned off.
func TestLoginPageInChromium(t *testing.T) {
	n := startNode(t, nodeOptions{Args: []string{"--demo"}})
	c := newChrome(t, n.URL)

	c.open("/account")
	if p := c.path(); !strings.HasPrefix(p, "/login?flow=") {
		t.Fatalf("/account without a session went to %s, not the sign-in page", p)
	}
	c.do("wait for the sign-in form", chromedp.WaitVisible(chromedp.ID("username")))
	c.screenshot("login")
	if h := c.text("main h1"); h != "Sign in" {
		t.Errorf("heading %q", h)
	}
	if id := evalJS[string](c, `document.activeElement && document.activeElement.id`); id != "username" {
		t.Errorf("focus starts on %q, not on the username field", id)
	}
	// Every field has a label a screen reader announces.
	if unlabelled := evalJS[[]string](c, `Array.from(document.querySelectorAll("main input:not([type=hidden])")).filter(i => !i.labels || i.labels.length === 0).map(i => i.name)`); len(unlabelled) > 0 {
		t.Errorf("inputs without a label: %v", unlabelled)
	}
	if p := c.takeProblems(); len(p) > 0 {
		t.Errorf("the sign-in page reported problems:\n  %s", strings.Join(p, "\n  "))
	}

	// The recorder must see a violation, or its silence above means nothing:
	// an image from another origin breaks img-src 'self'.
	c.do("provoke a CSP violation", chromedp.Evaluate[chromedp.Void](
		`document.body.appendChild(Object.assign(document.createElement("img"), {src: "https://elsewhere.invalid/pixel.png"}))`))
	if !c.waitProblem("CSP violation: img-src") {
		t.Fatal("a CSP violation on the page was not noticed; the check for none proves nothing")
	}
	c.takeProblems()

	// JavaScript off: the password path needs none.
	if _, err := chromedp.Call(c.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turning JavaScript off: %v", err)
	}
	c.open("/account")
	c.signIn("fiona@acme.example", "not-fionas-password")
	c.screenshot("wrong-password-no-js")
	// The refusal comes with status 401, which Chromium notes on the
	// console as a failed load; anything else there is a problem.
	for _, p := range c.takeProblems() {
		if !strings.Contains(p, "status of 401") {
			t.Errorf("the refused sign-in reported: %s", p)
		}
	}
	if msg := c.text("#login-error"); msg != "The username or password is wrong." {
		t.Errorf("a wrong password shows %q", msg)
	}
	// The refusal is announced, tied to the field, and the user's typing
	// is kept so only the password needs entering again.
	if role := evalJS[string](c, `document.getElementById("login-error").getAttribute("role")`); role != "alert" {
		t.Errorf("the error's role is %q, not alert", role)
	}
	if by := evalJS[string](c, `document.getElementById("username").getAttribute("aria-describedby")`); by != "login-error" {
		t.Errorf("the username field is described by %q, not the error", by)
	}
	if v := evalJS[string](c, `document.getElementById("username").value`); v != "fiona@acme.example" {
		t.Errorf("the username field holds %q after the refusal", v)
	}
	c.do("clear the fields", chromedp.Clear(chromedp.ID("username")), chromedp.Clear(chromedp.ID("password")))
	c.signIn("fiona@acme.example", "fiona-saffron-comet-36")
	if p := c.path(); p != "/account" {
		t.Fatalf("signed in without JavaScript, landed on %s", p)
	}
	if body := c.text("main"); !strings.Contains(body, "Fiona Finance") {
		t.Fatalf("account page without JavaScript:\n%s", body)
	}
	c.screenshot("account-no-js")

	// The security page says plainly that passkeys need JavaScript, and
	// hides the button that would do nothing.
	c.open("/account/security")
	c.do("wait for the security page", chromedp.WaitVisible(chromedp.ID("passkey-heading")))
	c.screenshot("security-no-js")
	if body := c.text("main"); !strings.Contains(body, "Registering a passkey needs JavaScript.") {
		t.Errorf("without JavaScript the security page does not say passkeys need it:\n%s", body)
	}
	if visible := evalJS[bool](c, `!!document.getElementById("webauthn-register") && document.getElementById("webauthn-register").offsetParent !== null`); visible {
		t.Error("the passkey button shows without JavaScript")
	}
}
