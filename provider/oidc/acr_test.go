package oidc_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"gatehouse/provider/login"
	"gatehouse/provider/web"
)

// secondFactor stands in for the second-factor step: it asks for a code
// when the flow requires a second factor, and accepts any.
type secondFactor struct{}

func (secondFactor) Name() string { return "second-factor" }

func (secondFactor) Check(_ context.Context, t *login.Turn) (login.Need, error) {
	if t.Flow.RequireMFA && !slices.Contains(t.Flow.AMR, "mfa") {
		return login.Need{Page: true, Passive: login.ErrInteractionRequired}, nil
	}
	return login.Need{}, nil
}

func (secondFactor) Serve(w http.ResponseWriter, r *http.Request, t *login.Turn) {
	if r.Method == http.MethodPost {
		t.Flow.AMR = append(t.Flow.AMR, "otp", "mfa")
		t.Flow.AuthTime = t.Now()
		t.Next(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<form method="post" action="/login/second-factor"><input type="hidden" name="flow" value="%s"><input type="hidden" name="%s" value="%s"><input name="code"></form>`,
		html.EscapeString(t.Flow.ID), web.CSRFField, html.EscapeString(web.Secure(false).CSRFToken(w, r)))
}

// acr_values=mfa asks the flow for a second factor even with a session
// made with a password; the ID token then says acr mfa and amr has mfa.
func TestACRValuesMFA(t *testing.T) {
	e := newEnvOn(t, sqliteMemory(t), 1, secondFactor{})
	b := e.browser()
	r := e.rp("academy", "academy-secret")
	tok, a := r.signIn(b, "olivia@acme.example")
	if c := claimsOf(t, r.idToken(a, tok)); c["acr"] != "pwd" {
		t.Fatalf("acr %v after a password", c["acr"])
	}

	a = r.authorize(oauth2.SetAuthURLParam("acr_values", "mfa"))
	cb, pages := b.run(a.URL, "", "")
	if !slices.Equal(pages, []string{"code"}) {
		t.Fatalf("pages %v, want the second factor only", pages)
	}
	tok, err := r.exchange(a, cb)
	must(t, err)
	c := claimsOf(t, r.idToken(a, tok))
	amr, _ := c["amr"].([]any)
	if c["acr"] != "mfa" || !slices.Contains(amr, any("mfa")) || !slices.Contains(amr, any("pwd")) {
		t.Fatalf("acr %v amr %v, want mfa with pwd and mfa", c["acr"], c["amr"])
	}
	if at := jwtClaims(t, tok.AccessToken); at["acr"] != "mfa" {
		t.Fatalf("access token acr %v", at["acr"])
	}

	// The session now has the second factor: no page the next time.
	a = r.authorize(oauth2.SetAuthURLParam("acr_values", "mfa"))
	_, pages = b.run(a.URL, "", "")
	if len(pages) != 0 {
		t.Fatalf("pages %v with a second factor in the session", pages)
	}
}
