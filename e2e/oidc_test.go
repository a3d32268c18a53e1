package e2e

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// demo credentials from the built-in demo seed (README).
const (
	ownerEmail    = "olivia@acme.example"
	ownerPassword = "olivia-lantern-harbor-42"
	academyID     = "academy"
	academySecret = "academy-demo-secret-5e1f9c"
	academyRedir  = "http://localhost:9000/callback"
)

// rp is a relying party built from x/oauth2 and go-oidc, as a service of
// the ecosystem would be.
type rp struct {
	t        testing.TB
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
}

func newRP(t testing.TB, issuer, id, secret, redirect string, scopes ...string) *rp {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery at %s: %v", issuer, err)
	}
	return &rp{
		t:        t,
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: id}),
		conf: oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect,
			Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, scopes...)},
	}
}

// login runs the code flow in b: the sign-in form is filled when shown.
// It returns the verified ID token and the tokens.
func (r *rp) login(b *browser, username, password string, opts ...oauth2.AuthCodeOption) (*oidc.IDToken, *oauth2.Token) {
	r.t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-e2e-0123456789"))
	p := b.get(r.conf.AuthCodeURL("state-e2e-0123456789", opts...))
	if p.Location == nil {
		p = b.signIn(p, username, password)
	}
	if p.Location == nil {
		r.t.Fatalf("no redirect to the relying party; stopped at %s (%d):\n%s", p.URL, p.Status, p.Body)
	}
	q := p.Location.Query()
	if e := q.Get("error"); e != "" {
		r.t.Fatalf("authorization refused: %s: %s", e, q.Get("error_description"))
	}
	tok, err := r.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		r.t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		r.t.Fatalf("ID token: %v", err)
	}
	if id.Nonce != "nonce-e2e-0123456789" {
		r.t.Fatalf("nonce %q", id.Nonce)
	}
	return id, tok
}

func TestDemoNodeSignsInThroughOIDC(t *testing.T) {
	n := startNode(t, nodeOptions{Args: []string{"--demo"}})
	r := newRP(t, n.URL, academyID, academySecret, academyRedir, "profile", "email", "roles", "offline_access")
	b := newBrowser(t, n.URL)

	id, tok := r.login(b, ownerEmail, ownerPassword)
	var claims struct {
		Roles     []string `json:"roles"`
		PartnerID string   `json:"partner_id"`
		UserKind  string   `json:"user_kind"`
		AMR       []string `json:"amr"`
		ACR       string   `json:"acr"`
		SID       string   `json:"sid"`
		Email     string   `json:"email"`
	}
	if err := id.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(claims.Roles, "owner") || claims.PartnerID != "acme" || claims.UserKind != "employee" ||
		claims.Email != ownerEmail || claims.ACR != "pwd" || !slices.Contains(claims.AMR, "pwd") || claims.SID == "" {
		t.Fatalf("claims %+v", claims)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}

	// The same browser gets a second code with no page: the SSO session.
	p := b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if p.Location == nil || p.Location.Query().Get("code") == "" {
		t.Fatalf("second authorization showed a page (%d at %s)", p.Status, p.URL)
	}

	// UserInfo answers with the access token.
	ui, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil || ui.Email != ownerEmail {
		t.Fatalf("userinfo: %v %+v", err, ui)
	}
}

func TestDemoNodeServesHealthAndMetrics(t *testing.T) {
	n := startNode(t, nodeOptions{Args: []string{"--demo"}})
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/saml/metadata"} {
		resp, err := http.Get(n.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}
