package e2e

import (
	"encoding/base64"
	"encoding/xml"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"
)

// INTERFACE.md section 7, SAML and connections.

const ifPasswordProtected = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

func TestInterfaceSAML(t *testing.T) {
	t.Parallel()
	// A second service provider that only owners may use.
	restricted := ifNewSAMLSP(t, "https://billing.example/saml", "https://billing.example/acs")
	dir := t.TempDir()
	extra := ifWriteFile(t, dir, "restricted.yaml", "saml_service_providers:\n  - entity_id: https://billing.example/saml\n"+
		"    name: Billing\n    allowed_roles: [owner]\n    metadata: |\n"+ifIndent(string(restricted.metadataXML(t)), "      "))
	// A third known by metadata_url.
	byURL := ifNewSAMLSP(t, "https://wiki.example/saml", "https://wiki.example/acs")
	mdSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(byURL.metadataXML(t))
	}))
	t.Cleanup(mdSrv.Close)
	byURLSeed := ifWriteFile(t, dir, "by-url.yaml", "saml_service_providers:\n  - entity_id: https://wiki.example/saml\n"+
		"    name: Wiki\n    metadata_url: "+mdSrv.URL+"/metadata\n")
	n := ifStart(t, ifNodeOptions{SAML: true, Extra: []string{"--seed", extra, "--seed", byURLSeed}})
	restricted.sp.IDPMetadata = ifIDPMetadata(t, n.URL)
	byURL.sp.IDPMetadata = restricted.sp.IDPMetadata
	sp := n.SP

	t.Run("metadata_url", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		p := b.signIn(b.get(byURL.authnRedirect(t, "")), ifFinance, ifFinancePass)
		if _, err := byURL.parse(t, ifSAMLForm(t, p)); err != nil {
			t.Fatalf("a service provider known by metadata_url: %v", describeSAMLError(err))
		}
	})

	t.Run("metadata", func(t *testing.T) {
		t.Parallel()
		md := sp.sp.IDPMetadata
		if md.EntityID == "" || len(md.IDPSSODescriptors) != 1 {
			t.Fatalf("IdP metadata %+v", md)
		}
		d := md.IDPSSODescriptors[0]
		bindings := map[string]string{}
		for _, s := range d.SingleSignOnServices {
			bindings[s.Binding] = s.Location
		}
		if bindings[crewsaml.HTTPRedirectBinding] != n.URL+"/saml/sso" || bindings[crewsaml.HTTPPostBinding] != n.URL+"/saml/sso" {
			t.Errorf("SSO services %v, want both bindings at %s/saml/sso", bindings, n.URL)
		}
		slo := false
		for _, s := range d.SingleLogoutServices {
			slo = slo || s.Location == n.URL+"/saml/slo"
		}
		if !slo {
			t.Errorf("no SingleLogoutService at /saml/slo: %+v", d.SingleLogoutServices)
		}
	})

	t.Run("assertion", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		p := b.signIn(b.get(sp.authnRedirect(t, ifPasswordProtected)), ifOwner, ifOwnerPass)
		fields := ifSAMLForm(t, p)
		a, err := sp.parse(t, fields)
		if err != nil {
			t.Fatalf("the service provider refused the response: %v", describeSAMLError(err))
		}
		raw, _ := base64.StdEncoding.DecodeString(fields.Get("SAMLResponse"))
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil {
			t.Fatal(err)
		}
		if doc.Root().FindElement("./Signature") == nil {
			t.Errorf("the Response is not signed")
		}
		if as := doc.Root().FindElement("./Assertion"); as == nil || as.FindElement("./Signature") == nil {
			t.Errorf("the Assertion is not signed (or is encrypted)")
		}
		if a.Subject.NameID.Value != ifOwner || a.Subject.NameID.Format != string(crewsaml.EmailAddressNameIDFormat) {
			t.Errorf("NameID %q format %q", a.Subject.NameID.Value, a.Subject.NameID.Format)
		}
		attrs := map[string][]string{}
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				for _, v := range at.Values {
					attrs[at.Name] = append(attrs[at.Name], v.Value)
				}
			}
		}
		want := map[string][]string{"email": {ifOwner}, "name": {"Olivia Owner"}, "roles": {"owner"},
			"partner_id": {"acme"}, "user_kind": {"employee"}}
		for k, v := range want {
			if !slices.Equal(attrs[k], v) {
				t.Errorf("attribute %s = %v, want %v", k, attrs[k], v)
			}
		}
		if len(a.AuthnStatements) == 0 || a.AuthnStatements[0].SessionIndex == "" {
			t.Fatalf("no SessionIndex")
		}
		if c := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef; c == nil || c.Value != ifPasswordProtected {
			t.Errorf("AuthnContextClassRef %v, want PasswordProtectedTransport", c)
		}

		// IdP-initiated sign-in to the same service provider, on the
		// same session.
		p = b.get(n.URL + "/saml/idp-initiated?sp=" + url.QueryEscape(sp.sp.EntityID))
		fields = ifSAMLForm(t, p)
		unsolicited := *sp.sp
		unsolicited.AllowIDPInitiated = true
		req, _ := http.NewRequest(http.MethodPost, sp.sp.AcsURL.String(), strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_ = req.ParseForm()
		a2, err := unsolicited.ParseResponse(req, nil)
		if err != nil {
			t.Fatalf("IdP-initiated response refused: %v", describeSAMLError(err))
		}
		if a2.AuthnStatements[0].SessionIndex != a.AuthnStatements[0].SessionIndex {
			t.Errorf("a second assertion on one session has another SessionIndex")
		}
	})

	t.Run("NameID is the email whatever the request asks", func(t *testing.T) {
		t.Parallel()
		for _, f := range []crewsaml.NameIDFormat{crewsaml.UnspecifiedNameIDFormat, crewsaml.TransientNameIDFormat, crewsaml.PersistentNameIDFormat} {
			other := *sp.sp
			other.AuthnNameIDFormat = f
			s := &ifSAMLSP{sp: &other}
			b := newBrowser(t, n.URL)
			p := b.signIn(b.get(s.authnRedirect(t, "")), ifFinance, ifFinancePass)
			a, err := s.parse(t, ifSAMLForm(t, p))
			if err != nil {
				t.Fatalf("NameIDPolicy %s: %v", f, describeSAMLError(err))
			}
			if a.Subject.NameID.Value != ifFinance || a.Subject.NameID.Format != string(crewsaml.EmailAddressNameIDFormat) {
				t.Errorf("NameIDPolicy %s: NameID %s %s", f, a.Subject.NameID.Format, a.Subject.NameID.Value)
			}
		}
	})

	t.Run("password and a second factor meet PasswordProtectedTransport", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		p := ifFlow(t, b, b.get(sp.authnRedirect(t, ifPasswordProtected)), ifSteps{User: ifCoManLogin, Pass: ifCoManPass, TOTP: ifTOTPSecret})
		a, err := sp.parse(t, ifSAMLForm(t, p))
		if err != nil {
			t.Fatalf("refused: %v", describeSAMLError(err))
		}
		if a.Subject.NameID.Value != ifCoMan {
			t.Errorf("NameID %q", a.Subject.NameID.Value)
		}
	})

	t.Run("allowed_roles", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, n.URL)
		p := b.signIn(b.get(restricted.authnRedirect(t, "")), ifTech, ifTechPass)
		for _, f := range p.Forms {
			if r := f.Fields.Get("SAMLResponse"); r != "" {
				if _, err := restricted.parse(t, f.Fields); err == nil {
					t.Fatalf("a tech got an assertion for an owners-only service provider")
				}
				raw, _ := base64.StdEncoding.DecodeString(r)
				if strings.Contains(string(raw), "Assertion ") || strings.Contains(string(raw), ":Assertion>") {
					t.Fatalf("the refusal carries an assertion")
				}
			}
		}
		// An owner gets one.
		b = newBrowser(t, n.URL)
		p = b.signIn(b.get(restricted.authnRedirect(t, "")), ifOwner, ifOwnerPass)
		if _, err := restricted.parse(t, ifSAMLForm(t, p)); err != nil {
			t.Fatalf("an owner was refused: %v", describeSAMLError(err))
		}
	})
}

func describeSAMLError(err error) string {
	if ire, ok := err.(*crewsaml.InvalidResponseError); ok {
		return ire.PrivateErr.Error()
	}
	return err.Error()
}

// Connections: an OIDC connection's redirect URI and a SAML connection's
// service-provider endpoints; matching by email, then by subject.
func TestInterfaceConnections(t *testing.T) {
	t.Parallel()
	mock, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := mock.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mock.Shutdown() })
	cfg := mock.Config()

	// A SAML connection needs the upstream IdP's metadata.
	k, c := ifSPCert()
	idpURL, _ := url.Parse("https://idp.partner.example/saml/metadata")
	ssoURL, _ := url.Parse("https://idp.partner.example/saml/sso")
	idp := &crewsaml.IdentityProvider{Key: k, Certificate: c, MetadataURL: *idpURL, SSOURL: *ssoURL}
	idpMD, _ := xml.MarshalIndent(idp.Metadata(), "", "  ")

	dir := t.TempDir()
	extra := ifWriteFile(t, dir, "connections.yaml", `connections:
  - id: acme-entra
    partner: acme
    type: oidc
    issuer: `+cfg.Issuer+`
    client_id: `+cfg.ClientID+`
    client_secret: `+cfg.ClientSecret+`
  - id: acme-okta
    partner: acme
    type: saml
    metadata: |
`+ifIndent(string(idpMD), "      "))
	n := ifStart(t, ifNodeOptions{Extra: []string{"--seed", extra},
		Env: []string{"GATEHOUSE_FEDERATION_ALLOW_PRIVATE_UPSTREAMS=true"}})

	t.Run("SAML connection endpoints", func(t *testing.T) {
		resp, err := http.Get(n.URL + "/federation/acme-okta/metadata")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ed crewsaml.EntityDescriptor
		if err := xml.NewDecoder(resp.Body).Decode(&ed); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("SP metadata: %d %v", resp.StatusCode, err)
		}
		acs := ""
		for _, d := range ed.SPSSODescriptors {
			for _, a := range d.AssertionConsumerServices {
				acs = a.Location
			}
		}
		if acs != n.URL+"/federation/acme-okta/acs" {
			t.Errorf("assertion consumer service %q, want %s/federation/acme-okta/acs", acs, n.URL)
		}
	})

	t.Run("OIDC connection", func(t *testing.T) {
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email")
		// The upstream names the user by email, in another case.
		mock.QueueUser(&mockoidc.MockUser{Subject: "upstream-sam-1", Email: "SAM@Acme.Example", EmailVerified: true})
		for i, password := range []string{"anything at all", ""} {
			b := newBrowser(t, n.URL)
			verifier := oauth2.GenerateVerifier()
			p := b.signIn(b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(verifier))), ifSSO, password)
			if p.Location == nil || !strings.HasPrefix(p.Location.String(), cfg.Issuer) {
				t.Fatalf("posting /login for an SSO user (password %q) did not lead to the connection: %d at %s", password, p.Status, p.URL)
			}
			if got := p.Location.Query().Get("redirect_uri"); got != n.URL+"/federation/acme-entra/callback" {
				t.Errorf("redirect_uri %q, want %s/federation/acme-entra/callback", got, n.URL)
			}
			if i == 1 {
				// After the first match the stored subject is used: the
				// address upstream may change.
				mock.QueueUser(&mockoidc.MockUser{Subject: "upstream-sam-1", Email: "renamed@elsewhere.example", EmailVerified: true})
			}
			p = b.get(p.Location.String())
			if p.Location == nil || p.Location.Query().Get("code") == "" {
				t.Fatalf("no code after the upstream sign-in: %d at %s:\n%s", p.Status, p.URL, p.Body)
			}
			tok, err := r.conf.Exchange(t.Context(), p.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			_, id := ifJWT(t, tok.Extra("id_token").(string))
			if id["email"] != ifSSO || !slices.Contains(ifStrs(id["amr"]), "fed") || id["acr"] != "fed" {
				t.Errorf("federated sign-in %d: email %v amr %v acr %v", i, id["email"], id["amr"], id["acr"])
			}
		}
	})
}

// ifUpstreamIdP is a partner's SAML identity provider: crewjam/saml's,
// signing in one fixed person.
type ifUpstreamIdP struct {
	idp     *crewsaml.IdentityProvider
	srv     *httptest.Server
	spMeta  func() *crewsaml.EntityDescriptor
	subject string
	mu      sync.Mutex
	email   string
}

func (u *ifUpstreamIdP) GetSession(w http.ResponseWriter, r *http.Request, req *crewsaml.IdpAuthnRequest) *crewsaml.Session {
	u.mu.Lock()
	email := u.email
	u.mu.Unlock()
	return &crewsaml.Session{ID: "upstream-session", NameID: u.subject, NameIDFormat: string(crewsaml.PersistentNameIDFormat),
		CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "upstream-index",
		CustomAttributes: []crewsaml.Attribute{{Name: "email", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
			Values: []crewsaml.AttributeValue{{Type: "xs:string", Value: email}}}}}
}

func (u *ifUpstreamIdP) GetServiceProvider(r *http.Request, id string) (*crewsaml.EntityDescriptor, error) {
	return u.spMeta(), nil
}

func TestInterfaceSAMLConnection(t *testing.T) {
	t.Parallel()
	up := &ifUpstreamIdP{subject: "okta-subject-77", email: "Dora@Delta.example"}
	mux := http.NewServeMux()
	up.srv = httptest.NewServer(mux)
	t.Cleanup(up.srv.Close)
	k, c := ifSPCert()
	md, _ := url.Parse(up.srv.URL + "/metadata")
	sso, _ := url.Parse(up.srv.URL + "/sso")
	up.idp = &crewsaml.IdentityProvider{Key: k, Certificate: c, MetadataURL: *md, SSOURL: *sso,
		SessionProvider: up, ServiceProviderProvider: up}
	mux.HandleFunc("/sso", up.idp.ServeSSO)
	idpMD, _ := xml.MarshalIndent(up.idp.Metadata(), "", "  ")

	extra := ifWriteFile(t, t.TempDir(), "delta.yaml", `partners:
  - id: delta
    name: Delta MSP
    domain: delta.example
    primary_email: dora@delta.example
connections:
  - id: delta-okta
    partner: delta
    type: saml
    metadata: |
`+ifIndent(string(idpMD), "      ")+`users:
  - email: dora@delta.example
    partner: delta
    kind: employee
    role: owner
    name: Dora Delta
    sso: true
`)
	n := ifStart(t, ifNodeOptions{Extra: []string{"--seed", extra}, Env: []string{"GATEHOUSE_FEDERATION_ALLOW_PRIVATE_UPSTREAMS=true"}})
	up.spMeta = sync.OnceValue(func() *crewsaml.EntityDescriptor {
		resp, err := http.Get(n.URL + "/federation/delta-okta/metadata")
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var ed crewsaml.EntityDescriptor
		if err := xml.NewDecoder(resp.Body).Decode(&ed); err != nil {
			panic(err)
		}
		return &ed
	})

	r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email", "roles")
	for i := 0; i < 2; i++ {
		b := newBrowser(t, n.URL)
		verifier := oauth2.GenerateVerifier()
		p := b.signIn(b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(verifier))), "dora@delta.example", "")
		if p.Location == nil || !strings.HasPrefix(p.Location.String(), up.srv.URL+"/sso") {
			t.Fatalf("an SSO user was not sent to the SAML connection: %d at %s (%v)", p.Status, p.URL, p.Location)
		}
		p = b.get(p.Location.String())
		var fields url.Values
		for _, f := range p.Forms {
			if f.Fields.Get("SAMLResponse") != "" {
				fields = f.Fields
				if f.Action != n.URL+"/federation/delta-okta/acs" {
					t.Errorf("the upstream posts to %s, want %s/federation/delta-okta/acs", f.Action, n.URL)
				}
			}
		}
		if fields == nil {
			t.Fatalf("the upstream IdP gave no response (%d):\n%s", p.Status, p.Body)
		}
		p = ifPost(b, n.URL+"/federation/delta-okta/acs", fields)
		if p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Fatalf("no code after the upstream assertion (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
		tok, err := r.conf.Exchange(t.Context(), p.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, id := ifJWT(t, tok.Extra("id_token").(string))
		if id["email"] != "dora@delta.example" || id["acr"] != "fed" || !slices.Contains(ifStrs(id["amr"]), "fed") {
			t.Errorf("sign-in %d through the SAML connection: %v", i, id)
		}
		// After the first match the stored subject is used.
		up.mu.Lock()
		up.email = "someone.else@elsewhere.example"
		up.mu.Unlock()
	}
}
