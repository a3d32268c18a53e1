package mfa_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"gatehouse/storage"
)

// browserContext starts headless Chromium with a virtual authenticator (a
// passkey store with user verification). Without Chromium the test skips,
// except in CI, where that is a failure.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is not installed")
		}
		t.Skip("Chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn domain: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	}); err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}
	return ctx
}

// returned reads the test adapter's JSON answer on the current page.
func returned(t *testing.T, ctx context.Context) result {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	var r result
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("at %s: %v\n%s", loc, err, body)
	}
	return r
}

// TestPasskeyInABrowser drives static/webauthn.js in Chromium: a passkey
// registered from the account page, then used to sign in; and a passkey
// chosen at enrolment.
func TestPasskeyInABrowser(t *testing.T) {
	e := newEnv(t, options{localhost: true})
	ctx := browserContext(t)
	_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	base := "http://localhost:" + port
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, html)
		}
	}
	signIn := func(who string) {
		step("sign in as "+who,
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), who),
			chromedp.SendKeys(chromedp.ID("password"), goodPassword),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		)
	}

	// Register a passkey from the account page.
	step("open the account page", chromedp.Navigate(base+"/account/security"))
	signIn("alice@acme.example")
	step("register a passkey",
		chromedp.WaitVisible(chromedp.ID("webauthn-register")),
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Chromium"),
		chromedp.Click(chromedp.ID("webauthn-register")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	fs := e.factors("u-alice", storage.FactorWebAuthn)
	if len(fs) != 1 || fs[0].Name != "Chromium" {
		t.Fatalf("stored passkeys: %+v", fs)
	}

	// Sign in afresh with it.
	step("begin a sign-in", chromedp.Navigate(base+"/test/begin?force"))
	signIn("alice@acme.example")
	step("use the passkey",
		chromedp.WaitVisible(chromedp.ID("webauthn-signin")),
		chromedp.Click(chromedp.ID("webauthn-signin")),
		chromedp.WaitNotPresent(chromedp.ID("webauthn-signin")),
	)
	if r := returned(t, ctx); r.UserID != "u-alice" || !slices.Equal(r.AMR, amrPasskey) {
		t.Fatalf("passkey sign-in: %+v", r)
	}

	// A co-managing user's first sign-in, enrolling a passkey.
	step("begin carol's sign-in", chromedp.Navigate(base+"/test/begin?force"))
	signIn("carol@acme.example")
	step("create a passkey at enrolment",
		chromedp.WaitVisible(chromedp.ID("webauthn-register")),
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Carol's laptop"),
		chromedp.Click(chromedp.ID("webauthn-register")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.ID("recovery-codes")),
	)
	if r := returned(t, ctx); r.UserID != "u-carol" || !slices.Equal(r.AMR, amrPasskey) {
		t.Fatalf("enrolment with a passkey: %+v", r)
	}
	if fs := e.factors("u-carol", storage.FactorWebAuthn); len(fs) != 1 || fs[0].Name != "Carol's laptop" {
		t.Fatalf("carol's passkeys: %+v", fs)
	}
}
