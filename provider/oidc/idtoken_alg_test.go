package oidc_test

import (
	"context"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// A client registered with id_token_signed_response_alg ES256 gets ES256
// ID tokens; others get RS256. Both carry a kid go-oidc finds in the JWKS.
func TestIDTokenAlgPerClient(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for client, alg := range map[string]string{"es": "ES256", "academy": "RS256"} {
		r := e.rp(client, client+"-secret")
		tok, a := r.signIn(b, "olivia@acme.example")
		raw := tok.Extra("id_token").(string)
		h := jwtHeader(t, raw)
		if h["alg"] != alg || h["kid"] == "" {
			t.Fatalf("%s: header %v, want %s with a kid", client, h, alg)
		}
		r.idToken(a, tok)
		// A verifier that accepts only the other algorithm refuses it.
		other := "RS256"
		if alg == "RS256" {
			other = "ES256"
		}
		strict := e.discover().Verifier(&gooidc.Config{ClientID: client, SupportedSigningAlgs: []string{other}})
		if _, err := strict.Verify(context.Background(), raw); err == nil {
			t.Fatalf("%s: %s token accepted as %s", client, alg, other)
		}
	}
}
