package oidc_test

import (
	"context"
	"net/url"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Client credentials: an ES256 access token naming the client, verified
// against the JWKS, introspected active.
func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	cc := clientcredentials.Config{
		ClientID: "svc", ClientSecret: "svc-secret", TokenURL: e.issuer + "/oauth2/token",
		Scopes: []string{"admin"}, AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(context.Background())
	must(t, err)
	if tok.RefreshToken != "" {
		t.Fatal("client credentials must not get a refresh token")
	}
	if h := jwtHeader(t, tok.AccessToken); h["alg"] != "ES256" || h["typ"] != "at+jwt" {
		t.Fatalf("header %v", h)
	}
	c := verifyWithJWKS(t, e, tok.AccessToken)
	if c["sub"] != "svc" || c["client_id"] != "svc" || c["scope"] != "admin" {
		t.Fatalf("claims %v", c)
	}
	m := e.introspect(t, tok.AccessToken, "")
	if m["active"] != true || m["client_id"] != "svc" {
		t.Fatalf("introspection %v", m)
	}
	// A client's own token names no user: UserInfo refuses it.
	if st := e.userInfoStatus(t, tok.AccessToken); st != 403 {
		t.Fatalf("userinfo with a client token: %d", st)
	}

	t.Run("refusals", func(t *testing.T) {
		for name, c := range map[string]clientcredentials.Config{
			"wrong secret":         {ClientID: "svc", ClientSecret: "nope"},
			"unknown client":       {ClientID: "ghost", ClientSecret: "x"},
			"scope not registered": {ClientID: "svc", ClientSecret: "svc-secret", Scopes: []string{"roles"}},
			"grant not registered": {ClientID: "academy", ClientSecret: "academy-secret"},
			"public client":        {ClientID: "spa"},
		} {
			c.TokenURL, c.AuthStyle = e.issuer+"/oauth2/token", oauth2.AuthStyleInHeader
			if name == "public client" {
				c.AuthStyle = oauth2.AuthStyleInParams
			}
			_, err := c.Token(context.Background())
			if err == nil {
				t.Errorf("%s: token issued", name)
				continue
			}
			if re, ok := err.(*oauth2.RetrieveError); !ok || re.Response.StatusCode >= 500 || re.ErrorCode == "" {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

// verifyWithJWKS checks a JWT's signature against the provider's published
// keys, as a resource server would, and returns its claims.
func verifyWithJWKS(t testing.TB, e *env, raw string) map[string]any {
	t.Helper()
	ks := gooidc.NewRemoteKeySet(context.Background(), e.issuer+"/.well-known/jwks.json")
	if _, err := ks.VerifySignature(context.Background(), raw); err != nil {
		t.Fatalf("signature does not verify against the JWKS: %v", err)
	}
	return jwtClaims(t, raw)
}

// introspect asks academy (a confidential client) about a token.
func (e *env) introspect(t testing.TB, token, hint string) map[string]any {
	t.Helper()
	f := url.Values{"token": {token}}
	if hint != "" {
		f.Set("token_type_hint", hint)
	}
	resp := e.post("/oauth2/introspect", f, "academy", "academy-secret")
	m := decodeJSON(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("introspection: status %d: %v", resp.StatusCode, m)
	}
	return m
}

// A client's own token keeps no record: issuing it writes nothing to the
// ephemeral store, yet the owner can revoke it, and deleting the client
// ends it.
func TestClientTokenWithoutRecord(t *testing.T) {
	b := sqliteMemory(t)
	counted := &countingEphemeral{Ephemeral: b.eph}
	e := newEnvOn(t, backends{store: b.store, eph: counted}, 1)
	ctx := context.Background()
	cc := clientcredentials.Config{
		ClientID: "svc", ClientSecret: "svc-secret", TokenURL: e.issuer + "/oauth2/token",
		Scopes: []string{"admin"}, AuthStyle: oauth2.AuthStyleInHeader,
	}
	newToken := func() string {
		t.Helper()
		tok, err := cc.Token(ctx)
		must(t, err)
		return tok.AccessToken
	}
	newToken() // the secret's first check
	before := counted.n.Load()
	tok := newToken()
	if n := counted.n.Load() - before; n != 0 {
		t.Fatalf("issuing a client token made %d ephemeral-store calls, want 0", n)
	}
	m := e.introspect(t, tok, "")
	if m["active"] != true || m["client_id"] != "svc" || m["sub"] != "svc" || m["scope"] != "admin" ||
		m["token_type"] != "Bearer" || m["exp"] == nil || m["jti"] == nil {
		t.Fatalf("introspection %v", m)
	}

	t.Run("another client cannot revoke it", func(t *testing.T) {
		resp := e.post("/oauth2/revoke", url.Values{"token": {tok}}, "academy", "academy-secret")
		resp.Body.Close()
		if m := e.introspect(t, tok, ""); resp.StatusCode != 200 || m["active"] != true {
			t.Fatalf("%d, %v", resp.StatusCode, m)
		}
	})
	t.Run("its client revokes it", func(t *testing.T) {
		other := newToken()
		resp := e.post("/oauth2/revoke", url.Values{"token": {tok}, "token_type_hint": {"access_token"}}, "svc", "svc-secret")
		resp.Body.Close()
		if m := e.introspect(t, tok, ""); resp.StatusCode != 200 || m["active"] != false {
			t.Fatalf("revoked: %d, %v", resp.StatusCode, m)
		}
		if m := e.introspect(t, other, ""); m["active"] != true {
			t.Fatalf("another token of the client went with it: %v", m)
		}
	})
	t.Run("deleting the client ends its tokens", func(t *testing.T) {
		tok := newToken()
		must(t, e.store.DeleteClient(ctx, "svc"))
		e.reg.Forget()
		if m := e.introspect(t, tok, ""); m["active"] != false {
			t.Fatalf("token of a deleted client: %v", m)
		}
	})
}
