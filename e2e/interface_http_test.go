package e2e

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	"golang.org/x/oauth2"
)

// INTERFACE.md section 4: every path answers as described, and discovery
// leads to them.

func TestInterfaceHTTPSurface(t *testing.T) {
	t.Parallel()
	n := ifStart(t, ifNodeOptions{SAML: true})
	var disc map[string]any
	ifGetJSON(t, n.URL+"/.well-known/openid-configuration", &disc)

	t.Run("discovery", func(t *testing.T) {
		t.Parallel()
		want := map[string]string{
			"issuer":                                n.URL,
			"authorization_endpoint":                n.URL + "/oauth2/authorize",
			"token_endpoint":                        n.URL + "/oauth2/token",
			"pushed_authorization_request_endpoint": n.URL + "/oauth2/par",
			"introspection_endpoint":                n.URL + "/oauth2/introspect",
			"revocation_endpoint":                   n.URL + "/oauth2/revoke",
			"userinfo_endpoint":                     n.URL + "/userinfo",
			"end_session_endpoint":                  n.URL + "/oauth2/logout",
			"jwks_uri":                              n.URL + "/.well-known/jwks.json",
		}
		for k, v := range want {
			if disc[k] != v {
				t.Errorf("%s = %v, want %s", k, disc[k], v)
			}
		}
		grants := ifStrs(disc["grant_types_supported"])
		for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
			if !strings.Contains(strings.Join(grants, " "), g) {
				t.Errorf("grant_types_supported lacks %s", g)
			}
		}
		var jwks struct {
			Keys []map[string]any `json:"keys"`
		}
		ifGetJSON(t, n.URL+"/.well-known/jwks.json", &jwks)
		algs := map[any]bool{}
		for _, k := range jwks.Keys {
			if k["kid"] == nil || k["use"] != "sig" || k["d"] != nil {
				t.Errorf("JWKS key %v", k)
			}
			algs[k["alg"]] = true
		}
		if !algs["RS256"] || !algs["ES256"] {
			t.Errorf("JWKS algorithms %v, want RS256 and ES256", algs)
		}
	})

	t.Run("health, readiness, metrics", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(n.URL + p)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("%s: %v %v", p, err, resp.StatusCode)
			}
			resp.Body.Close()
		}
		resp, err := http.Get(n.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "# TYPE ") {
			t.Errorf("/metrics is not Prometheus text: %d\n%.300s", resp.StatusCode, b)
		}
	})

	t.Run("pages and API", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		if p := b.get(n.URL + "/login"); p.Status != 200 || !p.hasField("username") {
			t.Errorf("/login: %d", p.Status)
		}
		p := b.get(n.URL + "/account")
		if !p.hasField("password") {
			t.Fatalf("/account without a session does not lead to sign-in: %d at %s", p.Status, p.URL)
		}
		p = b.signIn(p, ifOwner, ifOwnerPass)
		if p.Status != 200 || p.URL.Path != "/account" || !p.hasField("current_password") {
			t.Errorf("/account after sign-in: %d at %s", p.Status, p.URL)
		}
		if p := b.get(n.URL + "/admin"); p.Status != 200 || p.URL.Path != "/admin" && !strings.HasPrefix(p.URL.Path, "/admin/") {
			t.Errorf("/admin for the owner: %d at %s", p.Status, p.URL)
		}
		resp, err := http.Get(n.URL + "/api/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("/api/v1/me without a token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("authorize parameters", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email")
		auth := func(extra ...oauth2.AuthCodeOption) string {
			return r.conf.AuthCodeURL("state-e2e-0123456789", append(extra, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))...)
		}
		b := newBrowser(t, n.URL)
		// prompt=none without a session.
		p := b.get(auth(oauth2.SetAuthURLParam("prompt", "none")))
		if p.Location == nil || p.Location.Query().Get("error") != "login_required" {
			t.Errorf("prompt=none without a session: %v (%d at %s)", p.Location, p.Status, p.URL)
		}
		// login_hint fills the username.
		p = b.get(auth(oauth2.SetAuthURLParam("login_hint", ifTech)))
		if f := ifFormsWith(p, "username"); len(f) != 1 || f[0].Fields.Get("username") != ifTech {
			t.Errorf("login_hint did not fill the username")
		}
		tok := ifCode(t, r, b, ifSteps{User: ifTech, Pass: ifTechPass})
		// With a session: prompt=none answers at once, also with an
		// id_token_hint; prompt=login and max_age=0 ask again.
		p = b.get(auth(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", tok.Extra("id_token").(string))))
		if p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Errorf("prompt=none with a session and id_token_hint: %v (%d at %s)", p.Location, p.Status, p.URL)
		}
		for _, o := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
			if p := b.get(auth(o)); p.Location != nil || !p.hasField("password") {
				t.Errorf("prompt=login / max_age=0 with a session did not ask again (%d at %s, %v)", p.Status, p.URL, p.Location)
			}
		}
	})

	t.Run("PAR", func(t *testing.T) {
		t.Parallel()
		verifier := oauth2.GenerateVerifier()
		form := url.Values{"response_type": {"code"}, "client_id": {ifConsoleID}, "redirect_uri": {ifConsoleRedir},
			"scope": {"openid email"}, "state": {"state-par-0123456789"}, "nonce": {"nonce-par-0123456789"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
		ans := ifPostForm(t, n.URL+"/oauth2/par", form, ifConsoleID, ifConsoleSec)
		uri, _ := ans.json["request_uri"].(string)
		if ans.status != http.StatusCreated || uri == "" || ans.json["expires_in"] == nil {
			t.Fatalf("PAR: %d %s", ans.status, ans.body)
		}
		b := newBrowser(t, n.URL)
		p := b.get(n.URL + "/oauth2/authorize?client_id=" + ifConsoleID + "&request_uri=" + url.QueryEscape(uri))
		p = ifFlow(t, b, p, ifSteps{User: ifTech, Pass: ifTechPass})
		if p.Location == nil || p.Location.Query().Get("code") == "" || p.Location.Query().Get("state") != "state-par-0123456789" {
			t.Fatalf("authorize with a request_uri: %v (%d at %s)", p.Location, p.Status, p.URL)
		}
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		if _, err := r.conf.Exchange(t.Context(), p.Location.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("exchange after PAR: %v", err)
		}
	})

	t.Run("SAML bindings, SLO and IdP-initiated", func(t *testing.T) {
		t.Parallel()
		sp := n.SP
		req, err := sp.sp.MakeAuthenticationRequest(n.URL+"/saml/sso", crewsaml.HTTPPostBinding, crewsaml.HTTPPostBinding)
		if err != nil {
			t.Fatal(err)
		}
		sp.mu.Lock()
		sp.ids = append(sp.ids, req.ID)
		sp.mu.Unlock()
		doc := etree.NewDocument()
		doc.SetRoot(req.Element())
		raw, _ := doc.WriteToBytes()
		b := newBrowser(t, n.URL)
		p := ifPost(b, n.URL+"/saml/sso", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(raw)}, "RelayState": {"post-relay"}})
		p = b.signIn(p, ifOwner, ifOwnerPass)
		fields := ifSAMLForm(t, p)
		if fields.Get("RelayState") != "post-relay" {
			t.Errorf("RelayState %q", fields.Get("RelayState"))
		}
		a, err := sp.parse(t, fields)
		if err != nil {
			t.Fatalf("HTTP-POST binding: %v", describeSAMLError(err))
		}
		// IdP-initiated, then SP-initiated logout.
		p = b.get(n.URL + "/saml/idp-initiated?sp=" + url.QueryEscape(sp.sp.EntityID))
		ifSAMLForm(t, p)
		lr, err := sp.sp.MakeRedirectLogoutRequest(a.Subject.NameID.Value, "relay-slo")
		if err != nil {
			t.Fatal(err)
		}
		p = b.get(lr.String())
		if p.Status >= 400 {
			t.Fatalf("/saml/slo: %d:\n%s", p.Status, p.Body)
		}
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		if p := b.get(r.conf.AuthCodeURL("s-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); p.Location != nil {
			t.Errorf("still signed in after SAML logout")
		}
	})
}
