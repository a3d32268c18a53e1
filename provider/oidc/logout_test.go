package oidc_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// RP-initiated logout with id_token_hint, post_logout_redirect_uri and
// state: the browser goes back to the client with the state, its session
// is gone, and every client of the session with a back-channel logout URI
// receives a signed logout token.
func TestLogoutWithHint(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	academy := e.rp("academy", "academy-secret", "openid", "offline_access")
	portal := e.rp("portal", "portal-secret", "openid", "offline_access")
	tok, a := academy.signIn(b, "olivia@acme.example")
	sid := claimsOf(t, academy.idToken(a, tok))["sid"].(string)
	ptok, _ := portal.signIn(b, "")
	// A client in another browser's session must not be told.
	otherTok, _ := academy.signIn(e.browser(), "olivia@acme.example")

	state := randomString()
	q := url.Values{
		"id_token_hint":            {tok.Extra("id_token").(string)},
		"post_logout_redirect_uri": {"https://academy.example/"},
		"state":                    {state},
	}
	pg := b.get(e.issuer + "/oauth2/logout?" + q.Encode())
	if pg.Location == nil || pg.Location.String() != "https://academy.example/?state="+state {
		t.Fatalf("logout: %d %v: %s", pg.Status, pg.Location, text(pg.Body))
	}

	// Both clients of the session hear of it, each with its own token.
	got := map[string]logoutClaims{}
	for len(got) < 2 {
		select {
		case d := <-e.logout:
			got[d.Client] = e.verifyLogoutToken(t, d)
		case <-time.After(10 * time.Second):
			t.Fatalf("back-channel logout tokens received: %v", got)
		}
	}
	for client, c := range got {
		if c.SID != sid || c.Sub != "u-olivia" || !slices.Equal(c.Aud, []string{client}) {
			t.Errorf("%s: claims %+v", client, c)
		}
	}

	// The session is over: a new authorization asks for the password.
	_, pages := b.run(academy.authorize().URL, "olivia@acme.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("after logout: pages %v", pages)
	}
	// Its refresh tokens are revoked; the other session's are not.
	for name, rt := range map[string]string{"academy": tok.RefreshToken, "portal": ptok.RefreshToken} {
		if m := e.introspect(t, rt, "refresh_token"); m["active"] != false {
			t.Errorf("%s refresh token survived the logout: %v", name, m)
		}
	}
	if m := e.introspect(t, otherTok.RefreshToken, "refresh_token"); m["active"] != true {
		t.Errorf("another session's refresh token was revoked: %v", m)
	}
	select {
	case d := <-e.logout:
		t.Fatalf("unexpected logout token for %s", d.Client)
	default:
	}
}

// A logout that cannot be tied to a client is not redirected: the user is
// signed out and told so at Gatehouse.
func TestLogoutWithoutTie(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	academy := e.rp("academy", "academy-secret")
	tok, _ := academy.signIn(b, "olivia@acme.example")

	pg := b.get(e.issuer + "/oauth2/logout?" + url.Values{"post_logout_redirect_uri": {"https://academy.example/"}}.Encode())
	if pg.Location != nil || pg.Status != 200 || !strings.Contains(text(pg.Body), "signed out") {
		t.Fatalf("untied logout: %d %v: %s", pg.Status, pg.Location, text(pg.Body))
	}
	select {
	case d := <-e.logout:
		e.verifyLogoutToken(t, d)
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout")
	}
	_, pages := b.run(academy.authorize().URL, "olivia@acme.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("after logout: pages %v", pages)
	}

	t.Run("client_id ties it", func(t *testing.T) {
		pg := b.get(e.issuer + "/oauth2/logout?" + url.Values{"client_id": {"academy"}, "post_logout_redirect_uri": {"https://academy.example/"}}.Encode())
		if pg.Location == nil || pg.Location.String() != "https://academy.example/" {
			t.Fatalf("%d %v", pg.Status, pg.Location)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		hint := tok.Extra("id_token").(string)
		for name, q := range map[string]url.Values{
			"unregistered uri": {"client_id": {"academy"}, "post_logout_redirect_uri": {"https://evil.example/"}},
			"another client's": {"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://portal.example/bye"}},
			"mismatched ids":   {"id_token_hint": {hint}, "client_id": {"portal"}},
			"bad hint":         {"id_token_hint": {"a.b.c"}, "post_logout_redirect_uri": {"https://academy.example/"}},
			"tampered hint":    {"id_token_hint": {tamper(hint)}},
		} {
			pg := e.browser().get(e.issuer + "/oauth2/logout?" + q.Encode())
			if pg.Location != nil || pg.Status != 400 {
				t.Errorf("%s: %d %v", name, pg.Status, pg.Location)
			}
		}
	})
	t.Run("POST", func(t *testing.T) {
		b := e.browser()
		tok, _ := academy.signIn(b, "olivia@acme.example")
		pg := b.submit(&page{URL: mustURL(t, e.issuer)}, form{Action: "/oauth2/logout", Fields: url.Values{
			"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {"https://academy.example/"},
		}}, nil)
		if pg.Location == nil || pg.Location.Host != "academy.example" {
			t.Fatalf("%d %v", pg.Status, pg.Location)
		}
	})
}

type logoutClaims struct {
	Iss    string                     `json:"iss"`
	Aud    []string                   `json:"aud"`
	Iat    int64                      `json:"iat"`
	Jti    string                     `json:"jti"`
	Sub    string                     `json:"sub"`
	SID    string                     `json:"sid"`
	Nonce  *string                    `json:"nonce"`
	Events map[string]json.RawMessage `json:"events"`
}

// verifyLogoutToken checks a logout token as a relying party must (OpenID
// Connect Back-Channel Logout 1.0, section 2.6).
func (e *env) verifyLogoutToken(t testing.TB, d logoutDelivery) logoutClaims {
	t.Helper()
	if h := jwtHeader(t, d.Token); h["typ"] != "logout+jwt" || h["kid"] == "" {
		t.Fatalf("logout token header %v", h)
	}
	ks := gooidc.NewRemoteKeySet(context.Background(), e.issuer+"/.well-known/jwks.json")
	payload, err := ks.VerifySignature(context.Background(), d.Token)
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	var c logoutClaims
	must(t, json.Unmarshal(payload, &c))
	if c.Iss != e.issuer || c.Jti == "" || c.Iat == 0 || c.SID == "" || c.Nonce != nil {
		t.Fatalf("logout token claims %+v", c)
	}
	if ev, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok || string(ev) != "{}" {
		t.Fatalf("logout token events %v", c.Events)
	}
	return c
}

func mustURL(t testing.TB, s string) *url.URL {
	u, err := url.Parse(s)
	must(t, err)
	return u
}
