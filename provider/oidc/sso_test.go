package oidc_test

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// One sign-in, two clients: the second gets no sign-in page, and both ID
// tokens name the same session.
func TestSSOAcrossClients(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	academy := e.rp("academy", "academy-secret")
	portal := e.rp("portal", "portal-secret")

	a1 := academy.authorize()
	cb, pages := b.run(a1.URL, "olivia@acme.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("first client: pages %v", pages)
	}
	tok1, err := academy.exchange(a1, cb)
	must(t, err)

	a2 := portal.authorize()
	cb, pages = b.run(a2.URL, "", "")
	if len(pages) != 0 {
		t.Fatalf("second client showed pages %v", pages)
	}
	tok2, err := portal.exchange(a2, cb)
	must(t, err)

	c1, c2 := claimsOf(t, academy.idToken(a1, tok1)), claimsOf(t, portal.idToken(a2, tok2))
	if c1["sid"] != c2["sid"] || c1["sub"] != c2["sub"] || c1["auth_time"] != c2["auth_time"] {
		t.Fatalf("two sessions: %v / %v", c1, c2)
	}
}

// prompt=none: no session is login_required at once; with a session the
// code comes back without a page.
func TestPromptNone(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := e.rp("academy", "academy-secret")
	wantAuthorizeError(t, b, r.authorize(oauth2.SetAuthURLParam("prompt", "none")).URL, "login_required", "")

	r.signIn(b, "olivia@acme.example")
	a := r.authorize(oauth2.SetAuthURLParam("prompt", "none"))
	cb, pages := b.run(a.URL, "", "")
	if len(pages) != 0 {
		t.Fatalf("pages %v with prompt=none", pages)
	}
	tok, err := r.exchange(a, cb)
	must(t, err)
	r.idToken(a, tok)

	t.Run("consent needed", func(t *testing.T) {
		kb := e.rp("kb", "kb-secret")
		wantAuthorizeError(t, b, kb.authorize(oauth2.SetAuthURLParam("prompt", "none")).URL, "consent_required", "")
	})
	t.Run("with other values", func(t *testing.T) {
		wantAuthorizeError(t, b, r.authorize(oauth2.SetAuthURLParam("prompt", "none login")).URL, "invalid_request", "prompt")
	})
}

// prompt=login shows the sign-in page even with a session, and auth_time
// moves.
func TestPromptLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := e.rp("academy", "academy-secret")
	tok, a := r.signIn(b, "olivia@acme.example")
	first := claimsOf(t, r.idToken(a, tok))

	time.Sleep(1100 * time.Millisecond) // auth_time has one-second resolution
	a = r.authorize(oauth2.SetAuthURLParam("prompt", "login"))
	cb, pages := b.run(a.URL, "olivia@acme.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("pages %v with prompt=login", pages)
	}
	tok, err := r.exchange(a, cb)
	must(t, err)
	second := claimsOf(t, r.idToken(a, tok))
	if second["auth_time"].(float64) <= first["auth_time"].(float64) {
		t.Fatalf("auth_time %v after %v", second["auth_time"], first["auth_time"])
	}
	if second["sid"] != first["sid"] {
		t.Fatalf("the same user signing in again keeps the session: %v then %v", first["sid"], second["sid"])
	}
}

// max_age: a session older than max_age needs a new sign-in; a fresh one
// does not; max_age=0 always does.
func TestMaxAge(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := e.rp("academy", "academy-secret")
	r.signIn(b, "olivia@acme.example")

	a := r.authorize(oauth2.SetAuthURLParam("max_age", "3600"))
	_, pages := b.run(a.URL, "", "")
	if len(pages) != 0 {
		t.Fatalf("max_age=3600 on a fresh session: pages %v", pages)
	}
	time.Sleep(1100 * time.Millisecond)
	for _, v := range []string{"1", "0"} { // 1 after a second; 0 right after a sign-in
		a = r.authorize(oauth2.SetAuthURLParam("max_age", v))
		cb, pages := b.run(a.URL, "olivia@acme.example", "")
		if !slices.Equal(pages, []string{"login"}) {
			t.Fatalf("max_age=%s: pages %v", v, pages)
		}
		tok, err := r.exchange(a, cb)
		must(t, err)
		r.idToken(a, tok)
	}
	t.Run("passive", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond)
		wantAuthorizeError(t, b, r.authorize(oauth2.SetAuthURLParam("max_age", "1"), oauth2.SetAuthURLParam("prompt", "none")).URL, "login_required", "")
	})
	t.Run("malformed", func(t *testing.T) {
		wantAuthorizeError(t, b, r.authorize(oauth2.SetAuthURLParam("max_age", "-5")).URL, "invalid_request", "max_age")
	})
}

// id_token_hint: a hint naming the session's user is answered silently; a
// hint naming someone else means the session is not used.
func TestIDTokenHint(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret")
	other := e.browser()
	carlTok, _ := r.signIn(other, "carl@globex.example")
	carlHint := carlTok.Extra("id_token").(string)

	b := e.browser()
	tok, _ := r.signIn(b, "olivia@acme.example")
	hint := tok.Extra("id_token").(string)

	a := r.authorize(oauth2.SetAuthURLParam("id_token_hint", hint), oauth2.SetAuthURLParam("prompt", "none"))
	cb, _ := b.run(a.URL, "", "")
	_, err := r.exchange(a, cb)
	must(t, err)

	wantAuthorizeError(t, b, r.authorize(oauth2.SetAuthURLParam("id_token_hint", carlHint), oauth2.SetAuthURLParam("prompt", "none")).URL, "login_required", "")

	// Interactive: the sign-in page, and carl's sign-in answers.
	a = r.authorize(oauth2.SetAuthURLParam("id_token_hint", carlHint))
	cb, pages := b.run(a.URL, "carl@globex.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("pages %v", pages)
	}
	tok, err = r.exchange(a, cb)
	must(t, err)
	if id := r.idToken(a, tok); id.Subject != "u-carl" {
		t.Fatalf("sub %q", id.Subject)
	}

	wantAuthorizeError(t, b, r.authorize(oauth2.SetAuthURLParam("id_token_hint", "not.a.token")).URL, "invalid_request", "id_token_hint")
}

// login_hint fills the username on the sign-in page.
func TestLoginHint(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := e.rp("academy", "academy-secret")
	pg := b.get(r.authorize(oauth2.SetAuthURLParam("login_hint", "tina@acme.example")).URL)
	if pg.kind() != "login" || pg.Forms[0].Fields.Get("username") != "tina@acme.example" {
		t.Fatalf("sign-in page without the hint: %s", text(pg.Body))
	}
}
