package saml

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	crewsaml "github.com/crewjam/saml"
	"golang.org/x/oauth2"

	"gatehouse/clients"
	"gatehouse/passwords"
	"gatehouse/provider/oidc"
	"gatehouse/storage"
)

// oidcSide mounts Gatehouse's OpenID Connect provider next to the SAML
// identity provider, with one confidential client whose back-channel
// logout endpoint reports here.
type oidcSide struct {
	p       *oidc.Provider
	cfg     oauth2.Config
	verify  *gooidc.IDTokenVerifier
	logouts chan string // logout_token of each back-channel logout
}

const academyCallback = "https://academy.example/callback"

func (e *env) withOIDC() *oidcSide {
	t := e.t
	ctx := context.Background()
	o := &oidcSide{logouts: make(chan string, 8)}
	bcl := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		o.logouts <- r.PostForm.Get("logout_token")
	}))
	hash, err := passwords.Hash(testParams, "academy-secret")
	must(t, err)
	c := clients.Defaults(storage.Client{ID: "academy", Name: "Academy", SecretHash: hash, RedirectURIs: []string{academyCallback},
		BackchannelLogoutURI: bcl, Scopes: []string{"openid", "profile", "email", "roles"}, FirstParty: true})
	must(t, clients.ValidateClient(c))
	must(t, e.store.CreateClient(ctx, c))
	o.p, err = oidc.New(oidc.Config{Issuer: e.issuer, Store: e.store, Ephemeral: e.eph, Clients: e.reg, Keys: e.keys,
		Login: e.login, Now: e.clock.Now, Logger: quietLogger()})
	must(t, err)
	e.server.Mount(o.p)
	t.Cleanup(o.p.Wait)

	disc, err := gooidc.NewProvider(ctx, e.issuer)
	must(t, err)
	o.cfg = oauth2.Config{ClientID: "academy", ClientSecret: "academy-secret", Endpoint: disc.Endpoint(),
		RedirectURL: academyCallback, Scopes: []string{"openid", "email", "roles"}}
	o.verify = disc.Verifier(&gooidc.Config{ClientID: "academy"})
	return o
}

func newHTTPServer(t testing.TB, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// signIn runs the code flow in b, signing in on the way if the page asks,
// and returns the verified ID token's sid and whether the sign-in page was
// shown.
func (o *oidcSide) signIn(t *testing.T, b *browser, who string) (sid string, sawLogin bool) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	authURL := o.cfg.AuthCodeURL("state-"+oauth2.GenerateVerifier()[:16], oauth2.S256ChallengeOption(verifier))
	b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == "academy.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	defer func() { b.c.CheckRedirect = nil }()
	p := b.get(authURL)
	if isLoginPage(p) {
		sawLogin = true
		p = b.signIn(p, who)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil || loc.Host != "academy.example" || loc.Query().Get("code") == "" {
		t.Fatalf("expected the callback with a code, got %d %s Location %q", p.status, p.url, p.header.Get("Location"))
	}
	tok, err := o.cfg.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	must(t, err)
	raw, _ := tok.Extra("id_token").(string)
	id, err := o.verify.Verify(context.Background(), raw)
	must(t, err)
	var claims struct {
		SID   string `json:"sid"`
		Email string `json:"email"`
	}
	must(t, id.Claims(&claims))
	if claims.Email != who {
		t.Fatalf("ID token email %q, want %q", claims.Email, who)
	}
	return claims.SID, sawLogin
}

func TestSharedSSOWithOIDC(t *testing.T) {
	t.Run("OIDC first, then SAML", func(t *testing.T) {
		e := newEnv(t, nil)
		o := e.withOIDC()
		sp := e.newSP(spOptions{name: "KB", sloBindings: []string{crewsaml.SOAPBinding}})
		b := e.browser()

		sid, sawLogin := o.signIn(t, b, "alice@acme.example")
		if !sawLogin || sid == "" {
			t.Fatalf("first sign-in: login page %v, sid %q", sawLogin, sid)
		}
		p := b.get(sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), ""))
		if isLoginPage(p) {
			t.Fatal("the SAML service asked for the password again")
		}
		res := b.deliver(p)
		if !res.OK || res.SessionIndex != sid {
			t.Fatalf("SAML: ok=%v SessionIndex %q, want the OIDC sid %q (%s)", res.OK, res.SessionIndex, sid, res.Error)
		}

		// An OIDC logout ends the session for the SAML service too.
		b.get("/oauth2/logout?client_id=academy")
		e.idp.Wait()
		checkLogoutRequest(t, e, sp, "alice@acme.example", sid)
	})

	t.Run("SAML first, then OIDC", func(t *testing.T) {
		e := newEnv(t, nil)
		o := e.withOIDC()
		sp := e.newSP(spOptions{name: "KB", signRequests: true, sloBindings: []string{crewsaml.HTTPPostBinding}})
		b := e.browser()

		sid := signInTo(t, b, "alice@acme.example", sp)
		got, sawLogin := o.signIn(t, b, "alice@acme.example")
		if sawLogin {
			t.Fatal("the OIDC client asked for the password again")
		}
		if got != sid {
			t.Fatalf("OIDC sid %q, want the SAML SessionIndex %q", got, sid)
		}

		// A SAML logout ends the session for the OIDC client too: it gets
		// its back-channel logout token.
		p := b.post("/saml/slo", postLogoutFields(t, sp.logoutRequest("alice@acme.example", sid), ""))
		if code, _ := logoutStatus(t, p); code != statusSuccess {
			t.Fatalf("LogoutResponse %s", code)
		}
		o.p.Wait()
		select {
		case tok := <-o.logouts:
			if tok == "" {
				t.Fatal("empty logout_token")
			}
		default:
			t.Fatal("the OIDC client got no back-channel logout")
		}
	})
}
