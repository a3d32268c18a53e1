package oidc_test

import (
	"net/url"
	"testing"
)

// Introspection: access and refresh tokens, by any confidential client,
// with any of its authentication methods; public clients may not.
func TestIntrospection(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "profile", "offline_access")
	tok, _ := r.signIn(e.browser(), "olivia@acme.example")

	m := e.introspect(t, tok.AccessToken, "")
	if m["active"] != true || m["sub"] != "u-olivia" || m["client_id"] != "academy" ||
		m["token_type"] != "Bearer" || m["iss"] != e.issuer || m["scope"] == nil || m["exp"] == nil {
		t.Fatalf("access token: %v", m)
	}
	for _, hint := range []string{"refresh_token", ""} {
		m = e.introspect(t, tok.RefreshToken, hint)
		if m["active"] != true || m["sub"] != "u-olivia" || m["client_id"] != "academy" || m["token_type"] != "refresh_token" {
			t.Fatalf("refresh token (hint %q): %v", hint, m)
		}
	}
	for name, tokStr := range map[string]string{
		"garbage": "garbage", "tampered": tamper(tok.AccessToken), "id token": tok.Extra("id_token").(string),
		"long": string(make([]byte, 20000)),
	} {
		if m := e.introspect(t, tokStr, ""); m["active"] != false || len(m) != 1 {
			t.Errorf("%s: %v", name, m)
		}
	}

	t.Run("another confidential client, client_secret_post", func(t *testing.T) {
		resp := e.post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {"portal"}, "client_secret": {"portal-secret"}}, "", "")
		if m := decodeJSON(t, resp); m["active"] != true || m["client_id"] != "academy" {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for name, c := range map[string]struct {
			form       url.Values
			user, pass string
			status     int
		}{
			"public client":  {url.Values{"token": {tok.AccessToken}, "client_id": {"spa"}}, "", "", 401},
			"wrong secret":   {url.Values{"token": {tok.AccessToken}}, "academy", "nope", 401},
			"no client":      {url.Values{"token": {tok.AccessToken}}, "", "", 400},
			"no token":       {url.Values{"x": {"y"}}, "academy", "academy-secret", 400},
			"unknown client": {url.Values{"token": {tok.AccessToken}}, "ghost", "x", 401},
		} {
			resp := e.post("/oauth2/introspect", c.form, c.user, c.pass)
			m := decodeJSON(t, resp)
			if resp.StatusCode != c.status || m["error"] == nil {
				t.Errorf("%s: %d %v, want %d", name, resp.StatusCode, m, c.status)
			}
		}
	})
}
