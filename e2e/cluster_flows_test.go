package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	fleetState = "state-fleet-0123456789"
	fleetNonce = "nonce-fleet-0123456789"
)

// fleetGrant is what a finished sign-in gave the relying party.
type fleetGrant struct {
	ID    *oidc.IDToken
	RawID string
	Token *oauth2.Token
}

// fleetClaims are the ID token claims the scale-out tests look at.
type fleetClaims struct {
	Email string   `json:"email"`
	AMR   []string `json:"amr"`
	SID   string   `json:"sid"`
}

func (g fleetGrant) claims(t testing.TB) fleetClaims {
	t.Helper()
	var c fleetClaims
	if err := g.ID.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// authorize sends the browser to the authorization endpoint (through the
// node it is on) and returns where it stopped, with the PKCE verifier.
func (f *fleet) authorize(b *fleetBrowser, r *rp, opts ...oauth2.AuthCodeOption) (*page, string) {
	b.t.Helper()
	v := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(v), oidc.Nonce(fleetNonce))
	return b.get(r.conf.AuthCodeURL(fleetState, opts...)), v
}

// follow follows redirects within Gatehouse, through the node the browser
// is on, up to a page or a redirect to the relying party.
func (b *fleetBrowser) follow(p *page) *page {
	b.t.Helper()
	iss := b.browser.issuer
	for i := 0; p.Location != nil && p.Location.Host == iss.Host; i++ {
		if i > 20 {
			b.t.Fatalf("too many redirects, at %s", p.Location)
		}
		p = b.get(p.Location.String())
	}
	return p
}

// exchange redeems the code the browser brought back, at node i, and
// verifies the ID token.
func (f *fleet) exchange(t testing.TB, r *rp, p *page, verifier string, i int) fleetGrant {
	t.Helper()
	if p.Location == nil || p.Location.String() == "" || strings.HasPrefix(p.Location.String(), f.Issuer) {
		t.Fatalf("no redirect to the relying party; stopped at %s (%d):\n%s", p.URL, p.Status, p.Body)
	}
	q := p.Location.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization refused: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != fleetState {
		t.Fatalf("state %q in %s", q.Get("state"), p.Location)
	}
	tok, err := r.conf.Exchange(f.ctx(i), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange at node %d: %v", i, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(f.ctx(i), raw)
	if err != nil {
		t.Fatalf("ID token from node %d: %v", i, err)
	}
	if id.Nonce != fleetNonce {
		t.Fatalf("nonce %q", id.Nonce)
	}
	return fleetGrant{ID: id, RawID: raw, Token: tok}
}

// signIn runs the whole code flow for email on node i in a new browser and
// returns the grant and the browser (which holds the SSO session).
func (f *fleet) signIn(t testing.TB, r *rp, i int, email string) (fleetGrant, *fleetBrowser) {
	t.Helper()
	b := f.browser(t, i)
	p, v := f.authorize(b, r)
	if p.Location == nil {
		p = b.signIn(p, email, fleetPassword)
	}
	return f.exchange(t, r, p, v, i), b
}

// refresh uses a refresh token at node i, as x/oauth2 does when an access
// token expires.
func (f *fleet) refresh(r *rp, i int, refreshToken string) (*oauth2.Token, error) {
	return r.conf.TokenSource(f.ctx(i), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// grantError is the OAuth error code of a token request's failure ("" for
// an error of another kind).
func grantError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// introspect asks node i whether a token is active (RFC 7662), as the
// console client.
func (f *fleet) introspect(t testing.TB, i int, token string) bool {
	t.Helper()
	var out struct {
		Active bool `json:"active"`
	}
	status := f.clientPost(t, i, "/oauth2/introspect", url.Values{"token": {token}}, &out)
	if status != http.StatusOK {
		t.Fatalf("introspection at node %d: %d", i, status)
	}
	return out.Active
}

// revoke revokes a token at node i (RFC 7009), as the console client.
func (f *fleet) revoke(t testing.TB, i int, token, hint string) {
	t.Helper()
	if status := f.clientPost(t, i, "/oauth2/revoke", url.Values{"token": {token}, "token_type_hint": {hint}}, nil); status != http.StatusOK {
		t.Fatalf("revocation at node %d: %d", i, status)
	}
}

// clientPost posts a form to node i with the console's credentials.
func (f *fleet) clientPost(t testing.TB, i int, path string, form url.Values, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.Issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(fleetClient, fleetSecret)
	return f.send(t, i, req, out)
}

// userinfo asks node i for the access token's user; nil when refused.
func (f *fleet) userinfo(r *rp, i int, tok *oauth2.Token) (*oidc.UserInfo, error) {
	return r.provider.UserInfo(f.ctx(i), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer"}))
}

// send does req through node i and decodes a JSON answer into out.
func (f *fleet) send(t testing.TB, i int, req *http.Request, out any) int {
	t.Helper()
	resp, err := f.client(i).Do(req)
	if err != nil {
		t.Fatalf("%s %s at node %d: %v", req.Method, req.URL.Path, i, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s at node %d: %v in %s", req.Method, req.URL.Path, i, err, body)
		}
	}
	if resp.StatusCode/100 == 5 {
		t.Logf("%s %s at node %d: %d %s", req.Method, req.URL.Path, i, resp.StatusCode, body)
	}
	return resp.StatusCode
}

// signInAdmin gets the owner an access token with the admin scope, which
// the API calls below present.
func (f *fleet) signInAdmin(t testing.TB) {
	t.Helper()
	g, _ := f.signIn(t, f.rp(t, 0, "admin"), 0, fleetOwner)
	f.admin = g.Token.AccessToken
}

// api calls the administration API at node i as the owner.
func (f *fleet) api(t testing.TB, i int, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.Issuer+"/api/v1/partners/"+fleetPartner+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.admin)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return f.send(t, i, req, out)
}

// fleetUser is the part of the API's user the tests read.
type fleetUser struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Locked bool   `json:"locked"`
	MFA    struct {
		PauseNextLogin bool `json:"pause_next_login"`
	} `json:"mfa"`
}

// user finds a user of the fleet's partner by email, through node i.
func (f *fleet) user(t testing.TB, i int, email string) fleetUser {
	t.Helper()
	var out struct {
		Users []fleetUser `json:"users"`
	}
	if s := f.api(t, i, http.MethodGet, "/users?q="+url.QueryEscape(email), nil, &out); s != http.StatusOK {
		t.Fatalf("listing users at node %d: %d", i, s)
	}
	for _, u := range out.Users {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("no user %s in %+v", email, out.Users)
	return fleetUser{}
}
