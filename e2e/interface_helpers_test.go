package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"gatehouse/mail/mailtest"
)

// The interface tests share one seed: the partner of INTERFACE.md's
// example with a user of every kind, an admin-scoped client, relying
// parties of every sort, a SAML service provider and a connection.
const (
	ifPartner      = "acme"
	ifOwner        = "olivia@acme.example"
	ifOwnerPass    = "olivia-lantern-harbor-42"
	ifAdmin        = "adam@acme.example"
	ifAdminPass    = "adam-copper-meadow-17"
	ifTech         = "tess@acme.example"
	ifTechPass     = "tess-granite-willow-58"
	ifFinance      = "fiona@acme.example"
	ifFinancePass  = "fiona-saffron-comet-36"
	ifClient       = "carl@globex.example"
	ifClientPass   = "carl-velvet-orchard-71"
	ifCoMan        = "john.doe@globex.example"
	ifCoManLogin   = "jdoe@acme.example"
	ifCoManPass    = "jdoe-cobalt-thistle-29"
	ifTOTPSecret   = "JBSWY3DPEHPK3PXP"
	ifSSO          = "sam@acme.example"
	ifNoReset      = "nora@acme.example"
	ifNoResetPass  = "nora-quiet-lantern-77"
	ifOther        = "bob@beta.example"
	ifOtherPass    = "bob-sunny-parsnip-64"
	ifConsoleID    = "console"
	ifConsoleSec   = "console-secret-7b1d"
	ifConsoleRedir = "http://localhost:9100/callback"
	ifAcademyID    = "academy"
	ifAcademySec   = "academy-secret-3c9a"
	ifAcademyRedir = "https://academy.example/callback"
	ifPortalID     = "portal"
	ifPortalRedir  = "http://localhost:9101/callback"
	ifESID         = "es-client"
	ifESSec        = "es-secret-55aa"
	ifOwnersOnlyID = "owners-only"
	ifOwnersSec    = "owners-secret-88cc"
)

// ifSeedOptions fill the parts of the shared seed that depend on the test.
type ifSeedOptions struct {
	SPMetadata     string // a service provider's metadata XML
	SPEntityID     string
	BackchannelURI string // the console client's back-channel logout URI
	ConnIssuer     string // the OIDC connection's issuer
}

func ifSeed(o ifSeedOptions) string {
	if o.ConnIssuer == "" {
		o.ConnIssuer = "https://login.example.com/tenant/v2.0"
	}
	bc := ""
	if o.BackchannelURI != "" {
		bc = "    backchannel_logout_uri: " + o.BackchannelURI + "\n"
	}
	s := `partners:
  - id: acme
    name: Acme MSP
    domain: acme.example
    primary_email: owner@acme.example
    require_mfa: false
  - id: beta
    name: Beta MSP
    domain: beta.example
    primary_email: bob@beta.example
organizations:
  - id: globex
    partner: acme
    name: Globex Corp
    co_management: true
    saas_account: SP-1234
  - id: initech
    partner: acme
    name: Initech
users:
  - email: olivia@acme.example
    partner: acme
    kind: employee
    role: owner
    name: Olivia Owner
    password: "` + ifOwnerPass + `"
    phone: "+15555550100"
  - email: adam@acme.example
    partner: acme
    kind: employee
    role: admin
    name: Adam Admin
    password: "` + ifAdminPass + `"
  - email: tess@acme.example
    partner: acme
    kind: employee
    role: tech
    name: Tess Tech
    password: "` + ifTechPass + `"
  - email: fiona@acme.example
    partner: acme
    kind: employee
    role: finance
    name: Fiona Finance
    password: "` + ifFinancePass + `"
  - email: carl@globex.example
    partner: acme
    kind: client
    role: client
    organization: globex
    name: Carl Client
    password: "` + ifClientPass + `"
  - email: john.doe@globex.example
    partner: acme
    kind: co_managing
    role: co_managing
    organization: globex
    username: jdoe
    name: John Doe
    password: "` + ifCoManPass + `"
    totp_secret: ` + ifTOTPSecret + `
  - email: sam@acme.example
    partner: acme
    kind: employee
    role: support
    name: Sam Single
    sso: true
  - email: nora@acme.example
    partner: acme
    kind: employee
    role: support
    name: Nora Noreset
    password: "` + ifNoResetPass + `"
    password_reset_disabled: true
  - email: bob@beta.example
    partner: beta
    kind: employee
    role: owner
    name: Bob Beta
    password: "` + ifOtherPass + `"
clients:
  - id: console
    name: Console
    secret: "` + ifConsoleSec + `"
    redirect_uris: [` + ifConsoleRedir + `]
    post_logout_redirect_uris: [http://localhost:9100/]
` + bc + `    grant_types: [authorization_code, refresh_token, client_credentials]
    scopes: [openid, profile, email, phone, roles, offline_access, admin]
    token_endpoint_auth_method: client_secret_basic
    first_party: true
  - id: academy
    name: Academy
    secret: "` + ifAcademySec + `"
    redirect_uris: [` + ifAcademyRedir + `]
    post_logout_redirect_uris: [https://academy.example/]
    grant_types: [authorization_code, refresh_token]
    scopes: [openid, profile, email, roles, offline_access]
    token_endpoint_auth_method: client_secret_post
  - id: portal
    name: Portal
    redirect_uris: [` + ifPortalRedir + `]
    grant_types: [authorization_code, refresh_token]
    scopes: [openid, profile, email, roles, offline_access]
    token_endpoint_auth_method: none
    first_party: true
  - id: es-client
    name: ES Service
    secret: "` + ifESSec + `"
    redirect_uris: [http://localhost:9102/callback]
    grant_types: [authorization_code]
    scopes: [openid, email]
    first_party: true
    id_token_signed_response_alg: ES256
  - id: owners-only
    name: Owners Only
    secret: "` + ifOwnersSec + `"
    redirect_uris: [http://localhost:9103/callback]
    grant_types: [authorization_code]
    scopes: [openid, roles]
    first_party: true
    allowed_roles: [owner]
connections:
  - id: acme-entra
    partner: acme
    type: oidc
    issuer: ` + o.ConnIssuer + `
    client_id: gatehouse
    client_secret: s3cret
`
	if o.SPMetadata != "" {
		s += "saml_service_providers:\n  - entity_id: " + o.SPEntityID + "\n    name: Knowledge Base\n    metadata: |\n" +
			ifIndent(o.SPMetadata, "      ") + "    allowed_roles: []\n"
	}
	return s
}

func ifIndent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

// ifWriteFile writes content into dir/name and returns its path.
func ifWriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ifNode is a node started with the shared seed, and what the tests need
// around it.
type ifNode struct {
	*node
	Dir   string
	Inbox *mailtest.Inbox // nil unless mail was asked for
	SP    *ifSAMLSP       // nil unless a service provider was asked for
}

type ifNodeOptions struct {
	Mail   bool
	SAML   bool
	Seed   ifSeedOptions
	Env    []string
	Extra  []string // further serve arguments
	Prefix string   // SAML SP base, when SAML
}

func ifStart(t testing.TB, o ifNodeOptions) *ifNode {
	t.Helper()
	n := &ifNode{Dir: t.TempDir()}
	env := append([]string(nil), o.Env...)
	if o.Mail {
		addr, inbox := mailtest.NewServer(t)
		n.Inbox = inbox
		env = append(env, "GATEHOUSE_MAIL_SMTP="+addr)
	}
	port := freePort(t)
	issuer := fmt.Sprintf("http://localhost:%d", port)
	if o.SAML {
		n.SP = ifNewSAMLSP(t, "https://kb.example/saml/metadata", "https://kb.example/saml/acs")
		o.Seed.SPMetadata = string(n.SP.metadataXML(t))
		o.Seed.SPEntityID = n.SP.sp.EntityID
	}
	seedPath := ifWriteFile(t, n.Dir, "seed.yaml", ifSeed(o.Seed))
	args := append([]string{"--seed", seedPath}, o.Extra...)
	n.node = ifStartNodeOn(t, port, nodeOptions{Issuer: issuer, Env: env, Args: args, Dir: n.Dir})
	if n.SP != nil {
		n.SP.sp.IDPMetadata = ifIDPMetadata(t, n.URL)
	}
	return n
}

// ifStartNodeOn is startNode on a port chosen beforehand (the seed may need
// the issuer).
func ifStartNodeOn(t testing.TB, port int, o nodeOptions) *node {
	t.Helper()
	self := fmt.Sprintf("http://localhost:%d", port)
	if o.Issuer == "" {
		o.Issuer = self
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	env := append([]string{"GATEHOUSE_ISSUER=" + o.Issuer, fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", port),
		"GATEHOUSE_LOG_LEVEL=warn"}, o.Env...)
	return ifLaunch(t, self, o.Dir, env, append([]string{"serve"}, o.Args...)...)
}

// ifLaunch starts gatehouse with the process environment less every
// GATEHOUSE_* variable, plus env, and waits until url/readyz answers.
func ifLaunch(t testing.TB, url, dir string, env []string, args ...string) *node {
	t.Helper()
	n := &node{URL: url, logs: &logBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(binary, args...)
	n.cmd.Dir = dir
	n.cmd.Env = append(ifCleanEnv(), env...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting gatehouse: %v", err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("gatehouse on %s said:\n%s", n.URL, n.logs)
		}
	})
	ifWaitReady(t, n)
	return n
}

// ifWaitReady waits until the node's /readyz answers 200.
func ifWaitReady(t testing.TB, n *node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-n.done:
			t.Fatalf("gatehouse exited before it was ready:\n%s", n.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse not ready after 30s:\n%s", n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ifJWT decodes a JWT's header and claims without verifying it (the
// tests that need a verification use go-oidc).
func ifJWT(t testing.TB, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact serialisation: %q", raw)
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("JWT part: %v", err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("JWT part: %v", err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

// ifStrs reads a JSON array of strings.
func ifStrs(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// ifAPI calls the administration API with a bearer token.
type ifAPI struct {
	t     testing.TB
	base  string
	token string
}

type ifAnswer struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (a *ifAPI) do(method, path string, body any) ifAnswer {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := ifAnswer{Status: resp.StatusCode, Header: resp.Header}
	out.Body, _ = io.ReadAll(resp.Body)
	if len(out.Body) > 0 {
		_ = json.Unmarshal(out.Body, &out.JSON)
	}
	return out
}

// want fails the test unless the answer has status.
func (ans ifAnswer) want(t testing.TB, status int, what string) ifAnswer {
	t.Helper()
	if ans.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, ans.Status, status, ans.Body)
	}
	return ans
}

// wantError checks the error shape {"error", "error_description"}.
func (ans ifAnswer) wantError(t testing.TB, status int, what string) {
	t.Helper()
	ans.want(t, status, what)
	e, _ := ans.JSON["error"].(string)
	d, _ := ans.JSON["error_description"].(string)
	if e == "" || d == "" {
		t.Fatalf("%s: error body %s lacks error or error_description", what, ans.Body)
	}
}

// ifSignIn runs the code flow for the console client (which may ask for
// the admin scope) and returns the tokens.
func ifSignIn(t testing.TB, issuer, email, password string, scopes ...string) *oauth2.Token {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"profile", "email", "admin"}
	}
	r := newRP(t, issuer, ifConsoleID, ifConsoleSec, ifConsoleRedir, scopes...)
	_, tok := r.login(newBrowser(t, issuer), email, password)
	return tok
}

// ifAdminAPI is an API client acting as the given user.
func ifAdminAPI(t testing.TB, issuer, email, password string) *ifAPI {
	t.Helper()
	tok := ifSignIn(t, issuer, email, password)
	return &ifAPI{t: t, base: issuer, token: tok.AccessToken}
}

// ifTOTP is the current code of the seed's TOTP secret, for a test
// sign-in.
func ifTOTP(t testing.TB, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ifSAMLSP is a crewjam/saml service provider known to Gatehouse by its
// metadata; responses are parsed directly (no server needed: the browser
// hands over the posted form).
type ifSAMLSP struct {
	sp  *crewsaml.ServiceProvider
	mu  sync.Mutex
	ids []string
}

var ifSPCert = sync.OnceValues(func() (*rsa.PrivateKey, *x509.Certificate) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "kb.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
})

func ifNewSAMLSP(t testing.TB, entityID, acs string) *ifSAMLSP {
	k, c := ifSPCert()
	md, _ := url.Parse(entityID)
	acsURL, _ := url.Parse(acs)
	return &ifSAMLSP{sp: &crewsaml.ServiceProvider{
		EntityID: entityID, Key: k, Certificate: c, MetadataURL: *md, AcsURL: *acsURL,
		AuthnNameIDFormat: crewsaml.EmailAddressNameIDFormat,
	}}
}

func (s *ifSAMLSP) metadataXML(t testing.TB) []byte {
	t.Helper()
	b, err := xml.MarshalIndent(s.sp.Metadata(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ifIDPMetadata(t testing.TB, issuer string) *crewsaml.EntityDescriptor {
	t.Helper()
	resp, err := http.Get(issuer + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ed crewsaml.EntityDescriptor
	if err := xml.Unmarshal(b, &ed); err != nil {
		t.Fatalf("IdP metadata: %v\n%s", err, b)
	}
	return &ed
}

// authnRedirect is an HTTP-Redirect AuthnRequest URL, optionally asking
// for an authentication context.
func (s *ifSAMLSP) authnRedirect(t testing.TB, ctxRef string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := *s.sp
	if ctxRef != "" {
		sp.RequestedAuthnContext = &crewsaml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: ctxRef}
	}
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(crewsaml.HTTPRedirectBinding), crewsaml.HTTPRedirectBinding, crewsaml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	s.ids = append(s.ids, req.ID)
	u, err := req.Redirect("relay-1", &sp)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// parse checks a posted SAMLResponse as the service provider would.
func (s *ifSAMLSP) parse(t testing.TB, fields url.Values) (*crewsaml.Assertion, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.sp.AcsURL.String(), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = req.ParseForm() // crewjam/saml reads req.Form
	s.mu.Lock()
	ids := append([]string(nil), s.ids...)
	s.mu.Unlock()
	return s.sp.ParseResponse(req, ids)
}

// ifSAMLForm finds the auto-posted form that carries a SAMLResponse.
func ifSAMLForm(t testing.TB, p *page) url.Values {
	t.Helper()
	for _, f := range p.Forms {
		if f.Fields.Get("SAMLResponse") != "" {
			return f.Fields
		}
	}
	t.Fatalf("no SAMLResponse form at %s (%d):\n%s", p.URL, p.Status, p.Body)
	return nil
}

// postForm posts fields to u and returns the page.
func ifPost(b *browser, u string, fields url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(fields.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// ifSteps says how a scripted user answers the pages of a sign-in.
type ifSteps struct {
	User, Pass string
	TOTP       string // the secret whose current code answers a code form
	Consent    string // allow or deny; allow when empty
}

// hasField reports whether one of the page's forms has an input named f.
func (p *page) hasField(f string) bool {
	for _, fm := range p.Forms {
		if _, ok := fm.Fields[f]; ok {
			return true
		}
	}
	return false
}

// ifFlow follows a sign-in from p until it leaves Gatehouse, filling the
// sign-in, second-factor and consent forms as s says. It returns the last
// page: Location is set when Gatehouse redirected out of itself.
func ifFlow(t testing.TB, b *browser, p *page, s ifSteps) *page {
	t.Helper()
	for i := 0; i < 8 && p.Location == nil; i++ {
		switch {
		case p.hasField("username") && p.hasField("password"):
			p = b.signIn(p, s.User, s.Pass)
		case p.hasField("code") && s.TOTP != "":
			p = b.submit(p, "code", map[string]string{"code": ifTOTP(t, s.TOTP)})
		case p.hasField("consent"):
			c := s.Consent
			if c == "" {
				c = "allow"
			}
			p = b.submit(p, "consent", map[string]string{"consent": c})
		default:
			return p
		}
	}
	return p
}

// ifCode runs the code flow of r in b up to the code, with PKCE, and
// exchanges it; extra parameters go on the authorization request.
func ifCode(t testing.TB, r *rp, b *browser, s ifSteps, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-e2e-0123456789"))
	p := ifFlow(t, b, b.get(r.conf.AuthCodeURL("state-e2e-0123456789", opts...)), s)
	if p.Location == nil {
		t.Fatalf("no redirect to the relying party; stopped at %s (%d):\n%s", p.URL, p.Status, p.Body)
	}
	q := p.Location.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization refused: %s: %s", e, q.Get("error_description"))
	}
	tok, err := r.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok
}

// ifSetPasswordViaInvite follows the invitation mailed to email and sets
// the password on the set-password page.
func ifSetPasswordViaInvite(t testing.TB, n *ifNode, email, password string) *page {
	t.Helper()
	m := n.Inbox.WaitFor(t, email)
	link := m.Link(n.URL)
	if link == "" {
		t.Fatalf("the invitation to %s has no link to %s:\n%s", email, n.URL, m.Text)
	}
	b := newBrowser(t, n.URL)
	p := b.get(link)
	p = b.submit(p, "password_confirm", map[string]string{"password": password, "password_confirm": password})
	if p.Status >= 400 || p.hasField("password_confirm") {
		t.Fatalf("setting the password from the invitation: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	return p
}
