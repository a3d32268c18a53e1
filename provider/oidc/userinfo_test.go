package oidc_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

var b64d = base64.RawURLEncoding.DecodeString

// UserInfo answers GET and POST with the bearer token in the Authorization
// header, and go-oidc reads it.
func TestUserInfo(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "profile", "email", "phone", "roles")
	tok, _ := r.signIn(e.browser(), "olivia@acme.example")

	for _, method := range []string{"GET", "POST"} {
		m := e.userInfo(t, tok.AccessToken, method)
		if m["sub"] != "u-olivia" || m["email"] != "olivia@acme.example" || m["email_verified"] != true ||
			m["name"] != "Olivia Mae Owner" || m["phone_number"] != "+15555550100" || m["partner_id"] != "acme" {
			t.Errorf("%s: %v", method, m)
		}
	}

	ui, err := e.discover().UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	must(t, err)
	if ui.Subject != "u-olivia" || ui.Email != "olivia@acme.example" || !ui.EmailVerified {
		t.Fatalf("go-oidc userinfo %+v", ui)
	}

	t.Run("only the granted scopes", func(t *testing.T) {
		r := e.rp("academy", "academy-secret", "openid")
		tok, _ := r.signIn(e.browser(), "olivia@acme.example")
		m := e.userInfo(t, tok.AccessToken, "GET")
		if len(m) != 1 || m["sub"] != "u-olivia" {
			t.Fatalf("openid only: %v", m)
		}
	})
	t.Run("POST with the token in the form", func(t *testing.T) {
		resp := e.post("/userinfo", url.Values{"access_token": {tok.AccessToken}}, "", "")
		if m := decodeJSON(t, resp); resp.StatusCode != 200 || m["sub"] != "u-olivia" {
			t.Fatalf("status %d: %v", resp.StatusCode, m)
		}
	})
	t.Run("bad tokens", func(t *testing.T) {
		for name, h := range map[string]string{
			"none":      "",
			"garbage":   "Bearer garbage",
			"not a jwt": "Bearer a.b.c",
			"tampered":  "Bearer " + tamper(tok.AccessToken),
			"basic":     "Basic Zm9vOmJhcg==",
			"id token":  "Bearer " + tok.Extra("id_token").(string),
		} {
			req, _ := http.NewRequest("GET", e.issuer+"/userinfo", nil)
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: status %d, WWW-Authenticate %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	})
}

// userInfo calls /userinfo with a bearer token and wants 200.
func (e *env) userInfo(t testing.TB, token, method string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, e.issuer+"/userinfo", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	m := decodeJSON(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo %s: status %d: %v", method, resp.StatusCode, m)
	}
	return m
}

// userInfoStatus is /userinfo's status for a token.
func (e *env) userInfoStatus(t testing.TB, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// tamper changes one character of a JWT's payload.
func tamper(raw string) string {
	parts := strings.Split(raw, ".")
	p := []byte(parts[1])
	if p[5] == 'A' {
		p[5] = 'B'
	} else {
		p[5] = 'A'
	}
	parts[1] = string(p)
	return strings.Join(parts, ".")
}
