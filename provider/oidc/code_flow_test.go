package oidc_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// A public client: the code flow with PKCE S256, verified by go-oidc.
func TestCodeFlowPublicClientPKCE(t *testing.T) {
	e := newEnv(t)
	spa := e.rp("spa", "")
	b := e.browser()

	a := spa.authorize()
	cb, pages := b.run(a.URL, "olivia@acme.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("pages %v, want the sign-in page only", pages)
	}
	if cb.Host != "spa.example" || cb.Path != "/callback" {
		t.Fatalf("callback %s", cb)
	}
	tok, err := spa.exchange(a, cb)
	must(t, err)
	id := spa.idToken(a, tok)
	if id.Subject != "u-olivia" {
		t.Fatalf("sub %q", id.Subject)
	}
	if tok.TokenType != "bearer" && tok.TokenType != "Bearer" {
		t.Fatalf("token_type %q", tok.TokenType)
	}

	t.Run("the verifier is required", func(t *testing.T) {
		a := spa.authorize()
		cb, _ := b.run(a.URL, "", "") // signed in already
		_, err := spa.cfg.Exchange(context.Background(), cb.Query().Get("code"))
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("a wrong verifier fails", func(t *testing.T) {
		a := spa.authorize()
		cb, _ := b.run(a.URL, "", "")
		_, err := spa.cfg.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("plain is refused", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		u := spa.cfg.AuthCodeURL(randomString(),
			oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		wantAuthorizeError(t, b, u, "invalid_request", "S256")
	})
	t.Run("a challenge without a method is plain, refused", func(t *testing.T) {
		u := spa.cfg.AuthCodeURL(randomString(), oauth2.SetAuthURLParam("code_challenge", pkceChallenge(oauth2.GenerateVerifier())))
		wantAuthorizeError(t, b, u, "invalid_request", "S256")
	})
	t.Run("PKCE is required of a public client", func(t *testing.T) {
		wantAuthorizeError(t, b, spa.cfg.AuthCodeURL(randomString()), "invalid_request", "code_challenge")
	})
}

// Confidential clients authenticate with client_secret_basic (academy) and
// client_secret_post (portal); PKCE is accepted but not required.
func TestConfidentialClientBasicAndPost(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, c := range []struct{ id, secret string }{{"academy", "academy-secret"}, {"portal", "portal-secret"}} {
		t.Run(c.id, func(t *testing.T) {
			r := e.rp(c.id, c.secret)
			tok, a := r.signIn(b, "olivia@acme.example")
			r.idToken(a, tok)

			// Without PKCE.
			st := randomString()
			cb, _ := b.run(r.cfg.AuthCodeURL(st), "", "")
			if _, err := r.cfg.Exchange(context.Background(), cb.Query().Get("code")); err != nil {
				t.Fatalf("exchange without PKCE: %v", err)
			}

			// A wrong secret.
			bad := *r
			bad.cfg.ClientSecret = "wrong"
			a = bad.authorize()
			cb, _ = b.run(a.URL, "", "")
			_, err := bad.exchange(a, cb)
			wantOAuthError(t, err, "invalid_client")
		})
	}
	t.Run("the registered method only", func(t *testing.T) {
		// portal registered client_secret_post; Basic is refused.
		r := e.rp("portal", "portal-secret")
		r.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		a := r.authorize()
		cb, _ := b.run(a.URL, "", "")
		_, err := r.exchange(a, cb)
		wantOAuthError(t, err, "invalid_client")
	})
}

// The ID token carries nonce, sid, auth_time, amr and acr; the profile and
// email claims are in it too.
func TestIDTokenClaims(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "profile", "email", "phone")
	b := e.browser()
	before := time.Now().Add(-time.Second)
	tok, a := r.signIn(b, "olivia@acme.example")
	id := r.idToken(a, tok)
	c := claimsOf(t, id)

	if sid, _ := c["sid"].(string); sid == "" {
		t.Fatalf("no sid in %v", c)
	}
	at, _ := c["auth_time"].(float64)
	if at == 0 || time.Unix(int64(at), 0).Before(before.Truncate(time.Second)) || time.Unix(int64(at), 0).After(time.Now()) {
		t.Fatalf("auth_time %v, want the sign-in time", c["auth_time"])
	}
	if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Fatalf("amr %v, want [pwd]", c["amr"])
	}
	if c["acr"] != "pwd" {
		t.Fatalf("acr %v, want pwd", c["acr"])
	}
	want := map[string]any{
		"name": "Olivia Mae Owner", "given_name": "Olivia", "family_name": "Mae Owner",
		"locale": "en", "zoneinfo": "UTC",
		"email": "olivia@acme.example", "email_verified": true,
		"phone_number": "+15555550100", "phone_number_verified": false,
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if _, ok := c["updated_at"].(float64); !ok {
		t.Errorf("updated_at missing: %v", c)
	}
	if _, ok := c["roles"]; ok {
		t.Errorf("roles without the roles scope: %v", c)
	}
	// The same session, seen by the access token.
	raw := tok.AccessToken
	if strings.Count(raw, ".") != 2 {
		t.Fatalf("access token is not a JWT: %q", raw)
	}
}

// wantOAuthError checks an x/oauth2 token error's code.
func wantOAuthError(t testing.TB, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	re, ok := err.(*oauth2.RetrieveError)
	if !ok {
		t.Fatalf("error %v, want an OAuth error %s", err, code)
	}
	if re.ErrorCode != code {
		t.Fatalf("error %q (%s), want %s", re.ErrorCode, re.ErrorDescription, code)
	}
	if re.Response.StatusCode >= 500 {
		t.Fatalf("status %d for %s", re.Response.StatusCode, code)
	}
}

// wantAuthorizeError runs an authorization request that must come back to
// the client with error code, its description mentioning about.
func wantAuthorizeError(t testing.TB, b *browser, authURL, code, about string) url.Values {
	t.Helper()
	cb, pages := b.run(authURL, "olivia@acme.example", "allow")
	q := cb.Query()
	if q.Get("error") != code {
		t.Fatalf("callback %s (pages %v), want error=%s", cb, pages, code)
	}
	if about != "" && !strings.Contains(q.Get("error_description"), about) {
		t.Fatalf("error_description %q does not mention %q", q.Get("error_description"), about)
	}
	return q
}
