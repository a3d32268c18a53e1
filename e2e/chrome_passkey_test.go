package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestPasskeyInChromium registers a passkey from /account/security with
// Chromium's virtual authenticator, signs out, and signs in again through
// a relying party that asks for a second factor (acr_values=mfa): the
// password, then the passkey on the second-factor page. The relying party
// gets a code, and the ID token it exchanges the code for says how the
// user signed in: amr hwk and mfa, acr mfa.
func TestPasskeyInChromium(t *testing.T) {
	rp := startCallbackServer(t)
	seedFile := filepath.Join(t.TempDir(), "rp.yaml")
	const secret = "passkey-rp-secret-7d3a91c4"
	if err := os.WriteFile(seedFile, []byte(fmt.Sprintf(`clients:
  - id: passkey-rp
    name: Passkey Portal
    secret: %q
    redirect_uris: [%s]
    grant_types: [authorization_code]
    scopes: [openid, profile, email]
    token_endpoint_auth_method: client_secret_basic
    first_party: true
`, secret, rp.redirect)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, nodeOptions{Args: []string{"--demo", "--seed", seedFile}})
	c := newChrome(t, n.URL)
	authenticator := c.addAuthenticator()

	// Register a passkey from the security page.
	c.open("/account/security")
	c.signIn(tessEmail, tessPassword)
	c.do("wait for the passkey button", chromedp.WaitVisible(chromedp.ID("webauthn-register")))
	c.screenshot("security")
	c.do("register a passkey",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop fingerprint"),
		clickAndLoad(chromedp.ID("webauthn-register")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	c.screenshot("passkey-registered")
	creds := c.credentials(authenticator)
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %d credentials after registering; want one discoverable passkey", len(creds))
	}
	c.open("/account/security")
	c.screenshot("security-with-passkey")
	if passkeys := c.text(`table[aria-labelledby="passkey-heading"]`); !strings.Contains(passkeys, "Laptop fingerprint") {
		t.Errorf("the security page does not list the new passkey:\n%s", passkeys)
	}

	// Sign out from the account page.
	c.open("/account")
	c.screenshot("account")
	c.do("sign out", clickAndLoad(chromedp.Search(`//button[normalize-space()="Sign out"]`)))
	c.screenshot("signed-out")
	c.open("/account")
	if p := c.path(); !strings.HasPrefix(p, "/login") {
		t.Fatalf("after signing out /account showed %s, not the sign-in page", p)
	}

	// The relying party asks for a second factor.
	relying := newRP(t, n.URL, "passkey-rp", secret, rp.redirect, "profile", "email")
	verifier := oauth2.GenerateVerifier()
	const state, nonce = "state-passkey-0123456789", "nonce-passkey-0123456789"
	c.do("start the relying party's sign-in", chromedp.Navigate(relying.conf.AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce), oauth2.SetAuthURLParam("acr_values", "mfa"))))
	if h := c.text("main h1"); h != "Sign in to Passkey Portal" {
		t.Errorf("the sign-in page for the relying party is headed %q", h)
	}
	c.signIn(tessEmail, tessPassword)
	c.do("wait for the second-factor page", chromedp.WaitVisible(chromedp.ID("webauthn-signin")))
	c.screenshot("second-factor")
	// She has no authenticator app or phone: the code field is for a
	// recovery code, and says so.
	if help := c.text("#code-help"); help != "One of your recovery codes." {
		t.Errorf("the code field's help for a user with a passkey and recovery codes reads %q", help)
	}
	before := creds[0].SignCount
	c.do("use the passkey", clickAndLoad(chromedp.ID("webauthn-signin")))
	c.screenshot("relying-party")

	var got url.Values
	select {
	case got = <-rp.calls:
	case <-time.After(chromeStepTimeout):
		t.Fatalf("the relying party was never called back; the browser is at %s", c.location())
	}
	if got.Get("error") != "" || got.Get("code") == "" || got.Get("state") != state {
		t.Fatalf("the relying party got %v", got)
	}
	if after := c.credentials(authenticator); len(after) != 1 || after[0].SignCount <= before {
		t.Errorf("the passkey's sign count did not advance (%v before)", before)
	}

	ctx, cancel := context.WithTimeout(context.Background(), chromeStepTimeout)
	defer cancel()
	tok, err := relying.conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := relying.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Email string   `json:"email"`
		AMR   []string `json:"amr"`
		ACR   string   `json:"acr"`
		Nonce string   `json:"nonce"`
	}
	if err := id.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Email != tessEmail || claims.Nonce != nonce || claims.ACR != "mfa" ||
		!slices.Contains(claims.AMR, "hwk") || !slices.Contains(claims.AMR, "mfa") || !slices.Contains(claims.AMR, "pwd") {
		t.Fatalf("ID token claims %+v; want Tess's, with amr pwd, hwk and mfa and acr mfa", claims)
	}
}

// callbackServer is the relying party's redirect URI: it hands each call's
// query to the test and shows the browser a plain page.
type callbackServer struct {
	redirect string
	calls    chan url.Values
}

func startCallbackServer(t *testing.T) *callbackServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb := &callbackServer{
		// localhost, not the address: redirect URIs on plain http must be
		// on localhost, and the browser resolves it to this listener.
		redirect: fmt.Sprintf("http://localhost:%d/callback", ln.Addr().(*net.TCPAddr).Port),
		calls:    make(chan url.Values, 4),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		cb.calls <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Passkey Portal</title></head><body><h1>Signed in to Passkey Portal</h1></body></html>`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return cb
}
