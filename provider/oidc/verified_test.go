package oidc_test

import (
	"context"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// A token whose signature checked out is remembered, but only while its
// signing key is trusted: once the key is gone, the token stops verifying
// on the node that remembered it too.
func TestRememberedTokenNeedsItsKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cc := clientcredentials.Config{
		ClientID: "svc", ClientSecret: "svc-secret", TokenURL: e.issuer + "/oauth2/token",
		Scopes: []string{"admin"}, AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(ctx)
	must(t, err)
	for i := 0; i < 2; i++ {
		if m := e.introspect(t, tok.AccessToken, ""); m["active"] != true {
			t.Fatalf("introspection %d: %v", i, m)
		}
	}
	if m := e.introspect(t, tamper(tok.AccessToken), ""); m["active"] != false {
		t.Fatalf("a tampered copy of a remembered token: %v", m)
	}

	kid, _ := jwtHeader(t, tok.AccessToken)["kid"].(string)
	must(t, e.store.DeleteKey(ctx, kid))
	must(t, e.keys.Load(ctx))
	if m := e.introspect(t, tok.AccessToken, ""); m["active"] != false {
		t.Fatalf("a remembered token whose key is gone: %v", m)
	}
}
