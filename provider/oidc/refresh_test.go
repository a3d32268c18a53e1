package oidc_test

import (
	"context"
	"testing"

	"golang.org/x/oauth2"
)

// refresh exchanges a refresh token at the token endpoint.
func (r *rp) refresh(rt string) (*oauth2.Token, error) {
	return r.cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
}

// Every refresh returns a new refresh token; the old one is spent. The new
// access token carries the same grant; the ID token is issued again.
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "profile", "roles", "offline_access")
	tok, a := r.signIn(e.browser(), "olivia@acme.example")
	sid := claimsOf(t, r.idToken(a, tok))["sid"]
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	rt := tok.RefreshToken
	for i := 0; i < 3; i++ {
		next, err := r.refresh(rt)
		must(t, err)
		if next.RefreshToken == "" || next.RefreshToken == rt {
			t.Fatalf("refresh %d: refresh token not rotated", i)
		}
		if next.AccessToken == tok.AccessToken {
			t.Fatalf("refresh %d: same access token", i)
		}
		c := jwtClaims(t, next.AccessToken)
		if c["sub"] != "u-olivia" || c["partner_id"] != "acme" {
			t.Fatalf("refresh %d: claims %v", i, c)
		}
		raw, _ := next.Extra("id_token").(string)
		id, err := r.verify.Verify(context.Background(), raw)
		must(t, err)
		if claimsOf(t, id)["sid"] != sid {
			t.Fatalf("refresh %d: sid changed", i)
		}
		if m := e.introspect(t, next.AccessToken, ""); m["active"] != true {
			t.Fatalf("refresh %d: new access token inactive: %v", i, m)
		}
		rt = next.RefreshToken
	}

	t.Run("no refresh token without offline_access", func(t *testing.T) {
		r := e.rp("academy", "academy-secret", "openid")
		tok, _ := r.signIn(e.browser(), "olivia@acme.example")
		if tok.RefreshToken != "" {
			t.Fatal("refresh token without offline_access")
		}
	})
	t.Run("only by its own client", func(t *testing.T) {
		other := e.rp("portal", "portal-secret")
		_, err := other.refresh(rt)
		wantOAuthError(t, err, "invalid_grant")
		if _, err := r.refresh(rt); err != nil {
			t.Fatalf("the owner's refresh failed after another client's attempt: %v", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		_, err := r.refresh("not-a-refresh-token")
		wantOAuthError(t, err, "invalid_grant")
	})
}

// Presenting a used refresh token revokes its whole family: every refresh
// token and access token descended from the same sign-in.
func TestRefreshReuseRevokesFamily(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "offline_access")
	tok, _ := r.signIn(e.browser(), "olivia@acme.example")
	second, err := r.refresh(tok.RefreshToken)
	must(t, err)
	third, err := r.refresh(second.RefreshToken)
	must(t, err)

	// Another grant of the same user, untouched by what follows.
	otherTok, _ := r.signIn(e.browser(), "olivia@acme.example")

	// Replay the first refresh token.
	_, err = r.refresh(tok.RefreshToken)
	wantOAuthError(t, err, "invalid_grant")

	for name, at := range map[string]string{"first": tok.AccessToken, "second": second.AccessToken, "third": third.AccessToken} {
		if m := e.introspect(t, at, ""); m["active"] != false {
			t.Errorf("%s access token still active: %v", name, m)
		}
		if st := e.userInfoStatus(t, at); st != 401 {
			t.Errorf("%s access token at userinfo: %d", name, st)
		}
	}
	_, err = r.refresh(third.RefreshToken)
	wantOAuthError(t, err, "invalid_grant")
	if m := e.introspect(t, third.RefreshToken, "refresh_token"); m["active"] != false {
		t.Errorf("latest refresh token still active: %v", m)
	}

	if m := e.introspect(t, otherTok.AccessToken, ""); m["active"] != true {
		t.Fatalf("another grant was revoked too: %v", m)
	}
	if _, err := r.refresh(otherTok.RefreshToken); err != nil {
		t.Fatalf("another grant's refresh failed: %v", err)
	}
}

// A code used twice fails, and revokes what the first exchange issued.
func TestCodeReuse(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "offline_access")
	a := r.authorize()
	cb, _ := e.browser().run(a.URL, "olivia@acme.example", "")
	tok, err := r.exchange(a, cb)
	must(t, err)

	_, err = r.exchange(a, cb)
	wantOAuthError(t, err, "invalid_grant")

	if m := e.introspect(t, tok.AccessToken, ""); m["active"] != false {
		t.Fatalf("access token of a reused code still active: %v", m)
	}
	_, err = r.refresh(tok.RefreshToken)
	wantOAuthError(t, err, "invalid_grant")

	t.Run("by another client", func(t *testing.T) {
		a := r.authorize()
		cb, _ := e.browser().run(a.URL, "olivia@acme.example", "")
		other := e.rp("portal", "portal-secret")
		other.cfg.RedirectURL = r.cfg.RedirectURL
		_, err := other.exchange(a, cb)
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("with another redirect_uri", func(t *testing.T) {
		a := r.authorize()
		cb, _ := e.browser().run(a.URL, "olivia@acme.example", "")
		bad := *r
		bad.cfg.RedirectURL = "https://academy.example/other"
		_, err := bad.exchange(a, cb)
		wantOAuthError(t, err, "invalid_grant")
	})
}
