package oidc_test

import (
	"net/url"
	"testing"
)

// Revocation (RFC 7009): a client revokes its own tokens; another client's
// request is answered 200 and changes nothing.
func TestRevocation(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "offline_access")

	t.Run("refresh token", func(t *testing.T) {
		tok, _ := r.signIn(e.browser(), "olivia@acme.example")
		// Another client asks: 200, nothing happens.
		resp := e.post("/oauth2/revoke", url.Values{"token": {tok.RefreshToken}}, "kb", "kb-secret")
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("foreign revocation: %d", resp.StatusCode)
		}
		if m := e.introspect(t, tok.RefreshToken, "refresh_token"); m["active"] != true {
			t.Fatalf("another client revoked the token: %v", m)
		}
		// The owner revokes: refresh and access tokens of the grant go.
		resp = e.post("/oauth2/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, "academy", "academy-secret")
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("revocation: %d", resp.StatusCode)
		}
		if m := e.introspect(t, tok.RefreshToken, "refresh_token"); m["active"] != false {
			t.Fatalf("refresh token still active: %v", m)
		}
		if m := e.introspect(t, tok.AccessToken, ""); m["active"] != false {
			t.Fatalf("access token still active: %v", m)
		}
		_, err := r.refresh(tok.RefreshToken)
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("access token", func(t *testing.T) {
		tok, _ := r.signIn(e.browser(), "olivia@acme.example")
		resp := e.post("/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "kb", "kb-secret")
		resp.Body.Close()
		if m := e.introspect(t, tok.AccessToken, ""); resp.StatusCode != 200 || m["active"] != true {
			t.Fatalf("foreign revocation: %d, %v", resp.StatusCode, m)
		}
		resp = e.post("/oauth2/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, "academy", "academy-secret")
		resp.Body.Close()
		if m := e.introspect(t, tok.AccessToken, ""); resp.StatusCode != 200 || m["active"] != false {
			t.Fatalf("revocation: %d, %v", resp.StatusCode, m)
		}
		if st := e.userInfoStatus(t, tok.AccessToken); st != 401 {
			t.Fatalf("revoked token at userinfo: %d", st)
		}
	})
	t.Run("public client revokes its own", func(t *testing.T) {
		spa := e.rp("spa", "", "openid", "offline_access")
		tok, _ := spa.signIn(e.browser(), "olivia@acme.example")
		resp := e.post("/oauth2/revoke", url.Values{"token": {tok.RefreshToken}, "client_id": {"spa"}}, "", "")
		resp.Body.Close()
		if m := e.introspect(t, tok.RefreshToken, "refresh_token"); resp.StatusCode != 200 || m["active"] != false {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for name, c := range map[string]struct {
			form       url.Values
			user, pass string
			status     int
		}{
			"unknown token": {url.Values{"token": {"nope"}}, "academy", "academy-secret", 200},
			"wrong secret":  {url.Values{"token": {"nope"}}, "academy", "bad", 401},
			"empty body":    {url.Values{}, "academy", "academy-secret", 400},
		} {
			resp := e.post("/oauth2/revoke", c.form, c.user, c.pass)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("%s: %d, want %d", name, resp.StatusCode, c.status)
			}
		}
	})
}
