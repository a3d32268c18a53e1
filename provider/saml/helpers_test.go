package saml

import (
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"gatehouse/clients"
	"gatehouse/keys"
	"gatehouse/passwords"
	"gatehouse/provider"
	"gatehouse/provider/login"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
	"gatehouse/templates"
)

// testParams keep argon2id cheap in tests.
var testParams = passwords.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "correct horse battery staple"

// env is Gatehouse's sign-in service and SAML identity provider behind an
// httptest server, on a fresh SQLite database and in-process ephemeral
// store, with the server's own middleware (security headers, body limit).
type env struct {
	t     testing.TB
	clock *testClock
	store storage.Store
	eph   storage.Ephemeral
	keys  *keys.Manager
	reg   *clients.Registry
	login *login.Service
	idp   *IdP
	srv   *httptest.Server
	// issuer is srv.URL, or srv.URL plus a path.
	issuer string
	server *provider.Server // more subsystems may be mounted on it
}

// testClock is the wall clock moved by an offset, so a test can step past
// a TTL; the service providers, on crewjam's own clock, keep wall time.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t testing.TB, configure func(*Config)) *env {
	t.Helper()
	return newEnvAt(t, "", configure)
}

// newEnvAt serves Gatehouse under a path of the test server: the issuer is
// the server's URL plus base.
func newEnvAt(t testing.TB, base string, configure func(*Config)) *env {
	t.Helper()
	templates.Must()
	ctx := context.Background()
	clk := &testClock{}
	e := &env{t: t, clock: clk, store: sqltest.SQLite(t), eph: ephemeraltest.MemoryAt(t, clk.Now)}
	box, err := keys.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e.keys = keys.NewManager(e.store, box, keys.Options{Logger: quietLogger()})
	if err := e.keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	e.reg = clients.NewRegistry(e.store, e.eph, time.Minute, nil)

	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)

	e.issuer = e.srv.URL + base
	e.login = login.New(login.Config{
		Issuer:         e.issuer,
		Directory:      e.store,
		Ephemeral:      e.eph,
		PasswordParams: testParams,
		LoginRateLimit: -1,
		Now:            clk.Now,
		Logger:         quietLogger(),
	})
	cfg := Config{
		Issuer:           e.issuer,
		Directory:        e.store,
		Ephemeral:        e.eph,
		Clients:          e.reg,
		Keys:             e.keys,
		Login:            e.login,
		Now:              clk.Now,
		Logger:           quietLogger(),
		ServiceProviders: e.store,
	}
	if configure != nil {
		configure(&cfg)
	}
	e.idp, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.idp.Wait)
	s := provider.NewServer(provider.ServerConfig{Store: e.store, Logger: quietLogger()})
	e.server = s
	s.Mount(e.login)
	s.Mount(e.idp)
	handler = s.Handler()
	e.seed()
	return e
}

// seed: partner acme with alice (employee, admin), bob (client, client
// role) and a co-managing user carol; all with goodPassword.
func (e *env) seed() {
	ctx := context.Background()
	must(e.t, e.store.CreatePartner(ctx, storage.Partner{ID: "acme", Name: "Acme IT", Domain: "acme.example", PrimaryEmail: "alice@acme.example"}))
	must(e.t, e.store.CreateOrganization(ctx, storage.Organization{ID: "globex", PartnerID: "acme", Name: "Globex", CoManagement: true}))
	hash, err := passwords.Hash(testParams, goodPassword)
	must(e.t, err)
	for _, u := range []storage.User{
		{ID: "u-alice", Email: "alice@acme.example", Name: "Alice Admin", Kind: storage.KindEmployee, Role: "admin"},
		{ID: "u-bob", Email: "bob@globex.example", Name: "Bob Client", Kind: storage.KindClient, Role: "client", OrganizationID: "globex"},
	} {
		u.PartnerID = "acme"
		u.Active = true
		u.PasswordHash = hash
		must(e.t, e.store.CreateUser(ctx, u))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// idpMetadata is what a service provider fetches from /saml/metadata.
func (e *env) idpMetadata() *crewsaml.EntityDescriptor {
	e.t.Helper()
	res, err := http.Get(e.issuer + "/saml/metadata")
	must(e.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var ed crewsaml.EntityDescriptor
	if err := xml.Unmarshal(b, &ed); err != nil {
		e.t.Fatalf("IdP metadata: %v\n%s", err, b)
	}
	return &ed
}

// spKey is one RSA key and certificate for every test SP: generating one
// per SP would only slow the tests down.
var spKey = sync.OnceValues(func() (*rsa.PrivateKey, *x509.Certificate) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test service provider"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return k, c
})

// spOptions shape a test service provider.
type spOptions struct {
	name          string
	signRequests  bool     // AuthnRequestsSigned="true", and it signs
	sloBindings   []string // its SingleLogoutService bindings
	allowedRoles  []string
	byURL         bool // registered by metadata_url rather than inline
	unregistered  bool // not registered at all
	idpInitiated  bool // accepts unsolicited responses
	nameIDFormat  crewsaml.NameIDFormat
	requestedCtx  *crewsaml.RequestedAuthnContext
	metadataEdits func(*crewsaml.EntityDescriptor)
}

// testSP is a crewjam/saml ServiceProvider behind its own httptest server:
// /metadata, /acs (answers JSON: what the SP made of the Response) and
// /slo (records LogoutRequests, checks LogoutResponses).
type testSP struct {
	t   testing.TB
	e   *env
	sp  *crewsaml.ServiceProvider
	srv *httptest.Server

	mu              sync.Mutex
	requestIDs      []string
	metadataFetches int
	logoutRequests  []*etree.Element // LogoutRequests received, signature verified
	logoutResponses []error          // result of validating each LogoutResponse
}

func (e *env) newSP(o spOptions) *testSP {
	e.t.Helper()
	key, cert := spKey()
	ts := &testSP{t: e.t, e: e}
	mux := http.NewServeMux()
	ts.srv = httptest.NewServer(mux)
	e.t.Cleanup(ts.srv.Close)
	base, _ := url.Parse(ts.srv.URL)
	sp := &crewsaml.ServiceProvider{
		EntityID:          ts.srv.URL + "/metadata",
		Key:               key,
		Certificate:       cert,
		MetadataURL:       *base.JoinPath("metadata"),
		AcsURL:            *base.JoinPath("acs"),
		SloURL:            *base.JoinPath("slo"),
		IDPMetadata:       e.idpMetadata(),
		AuthnNameIDFormat: crewsaml.EmailAddressNameIDFormat,
		AllowIDPInitiated: o.idpInitiated,
		LogoutBindings:    o.sloBindings,
	}
	if o.nameIDFormat != "" {
		sp.AuthnNameIDFormat = o.nameIDFormat
	}
	if o.signRequests {
		sp.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	sp.RequestedAuthnContext = o.requestedCtx
	ts.sp = sp

	mux.HandleFunc("GET /metadata", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.metadataFetches++
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(ts.metadata(o))
	})
	mux.HandleFunc("POST /acs", ts.serveACS)
	mux.HandleFunc("POST /slo", ts.serveSLO)

	if !o.unregistered {
		rec := storage.ServiceProvider{EntityID: sp.EntityID, Name: o.name, AllowedRoles: o.allowedRoles}
		if o.byURL {
			rec.MetadataURL = sp.MetadataURL.String()
		} else {
			rec.Metadata = string(ts.metadata(o))
		}
		ctx := context.Background()
		must(e.t, clients.ValidateServiceProvider(rec))
		must(e.t, e.store.CreateServiceProvider(ctx, rec))
		must(e.t, e.reg.Changed(ctx))
	}
	return ts
}

func (ts *testSP) metadata(o spOptions) []byte {
	md := ts.sp.Metadata()
	if o.metadataEdits != nil {
		o.metadataEdits(md)
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	must(ts.t, err)
	return b
}

// acsResult is what the SP's /acs made of a Response.
type acsResult struct {
	OK           bool                `json:"ok"`
	Error        string              `json:"error,omitempty"`  // the private error, for the test log
	Status       string              `json:"status,omitempty"` // a refusal's top-level status
	SubStatus    string              `json:"sub_status,omitempty"`
	NameID       string              `json:"name_id,omitempty"`
	NameIDFormat string              `json:"name_id_format,omitempty"`
	Attributes   map[string][]string `json:"attributes,omitempty"`
	SessionIndex string              `json:"session_index,omitempty"`
	ClassRef     string              `json:"class_ref,omitempty"`
	InResponseTo string              `json:"in_response_to,omitempty"`
	RelayState   string              `json:"relay_state,omitempty"`
	Raw          string              `json:"raw"` // the Response XML as posted
}

func (ts *testSP) serveACS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var res acsResult
	res.RelayState = r.PostForm.Get("RelayState")
	raw, _ := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	res.Raw = string(raw)
	ts.mu.Lock()
	ids := append([]string(nil), ts.requestIDs...)
	ts.mu.Unlock()
	a, err := ts.sp.ParseResponse(r, ids)
	if err != nil {
		res.Error = err.Error()
		var ire *crewsaml.InvalidResponseError
		if errors.As(err, &ire) {
			res.Error = ire.PrivateErr.Error()
			var bad crewsaml.ErrBadStatus
			if errors.As(ire.PrivateErr, &bad) {
				res.Status = bad.Status
				if doc := etree.NewDocument(); doc.ReadFromString(ire.Response) == nil {
					if sub := doc.FindElement("//Status/StatusCode/StatusCode"); sub != nil {
						res.SubStatus = sub.SelectAttrValue("Value", "")
					}
				}
			}
		}
	} else {
		res.OK = true
		res.NameID = a.Subject.NameID.Value
		res.NameIDFormat = a.Subject.NameID.Format
		res.Attributes = map[string][]string{}
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				for _, v := range at.Values {
					res.Attributes[at.Name] = append(res.Attributes[at.Name], v.Value)
				}
			}
		}
		if len(a.AuthnStatements) > 0 {
			res.SessionIndex = a.AuthnStatements[0].SessionIndex
			if c := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef; c != nil {
				res.ClassRef = c.Value
			}
		}
		if len(a.Subject.SubjectConfirmations) > 0 && a.Subject.SubjectConfirmations[0].SubjectConfirmationData != nil {
			res.InResponseTo = a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// serveSLO takes a back-channel LogoutRequest (SOAP or a posted form),
// verifying its signature against the IdP's metadata, or a LogoutResponse
// the browser brings back.
func (ts *testSP) serveSLO(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") {
		b, _ := io.ReadAll(r.Body)
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lr := doc.FindElement("//Body/LogoutRequest")
		if lr == nil {
			http.Error(w, "no LogoutRequest", http.StatusBadRequest)
			return
		}
		d := etree.NewDocument()
		d.SetRoot(lr.Copy())
		raw, _ = d.WriteToBytes()
	} else {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("SAMLResponse") != "" {
			err := ts.sp.ValidateLogoutResponseRequest(r)
			ts.mu.Lock()
			ts.logoutResponses = append(ts.logoutResponses, err)
			ts.mu.Unlock()
			_, _ = io.WriteString(w, "signed out of the service provider")
			return
		}
		raw, _ = base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLRequest"))
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := ts.verifyFromIdP(doc.Root()); err != nil {
		http.Error(w, "bad signature: "+err.Error(), http.StatusForbidden)
		return
	}
	ts.mu.Lock()
	ts.logoutRequests = append(ts.logoutRequests, doc.Root())
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, `<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body>`+
		`<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" IssueInstant="2024-01-01T00:00:00Z">`+
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse></soap11:Body></soap11:Envelope>`)
}

// verifyFromIdP checks an enveloped signature against the IdP's metadata
// certificates, as an SP would.
func (ts *testSP) verifyFromIdP(el *etree.Element) error {
	var certs []*x509.Certificate
	for _, kd := range ts.e.idpMetadata().IDPSSODescriptors[0].KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			cert, err := parseMetadataCert(c.Data)
			if err != nil {
				return err
			}
			certs = append(certs, cert)
		}
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.IdAttribute = "ID"
	_, err := vc.Validate(el)
	return err
}

// authnRequest makes an AuthnRequest as the SP would, remembering its ID.
func (ts *testSP) authnRequest(binding string) *crewsaml.AuthnRequest {
	ts.t.Helper()
	req, err := ts.sp.MakeAuthenticationRequest(ts.sp.GetSSOBindingLocation(binding), binding, crewsaml.HTTPPostBinding)
	must(ts.t, err)
	ts.mu.Lock()
	ts.requestIDs = append(ts.requestIDs, req.ID)
	ts.mu.Unlock()
	return req
}

// redirectURL is an HTTP-Redirect AuthnRequest for the browser to follow.
func (ts *testSP) redirectURL(req *crewsaml.AuthnRequest, relayState string) string {
	ts.t.Helper()
	u, err := req.Redirect(relayState, ts.sp)
	must(ts.t, err)
	return u.String()
}

// postForm is an HTTP-POST AuthnRequest's form fields.
func postFields(t testing.TB, req *crewsaml.AuthnRequest, relayState string) url.Values {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(req.Element())
	b, err := doc.WriteToBytes()
	must(t, err)
	v := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(b)}}
	if relayState != "" {
		v.Set("RelayState", relayState)
	}
	return v
}

// browser is a user agent with its own cookies.
type browser struct {
	t testing.TB
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar}}
}

// visit is a response with its body read.
type visit struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) visit {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return visit{status: res.StatusCode, url: res.Request.URL, header: res.Header, body: string(body)}
}

func (b *browser) get(rawURL string) visit {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.e.issuer + rawURL
	}
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	return b.do(req)
}

func (b *browser) post(rawURL string, form url.Values) visit {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.e.issuer + rawURL
	}
	req, _ := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formRe   = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([A-Za-z_]+)" value="([^"]*)">`)
)

// submit posts the page's form: hidden fields as they came, plus fields.
func (b *browser) submit(p visit, fields map[string]string) visit {
	b.t.Helper()
	action, form := formOf(b.t, p)
	for k, v := range fields {
		form.Set(k, v)
	}
	if strings.HasPrefix(action, "/") {
		action = b.e.srv.URL + action // a path from the page, base included
	}
	return b.post(action, form)
}

func formOf(t testing.TB, p visit) (string, url.Values) {
	t.Helper()
	m := formRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form on the page (%d %s):\n%s", p.status, p.url, p.body)
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), form
}

func isLoginPage(p visit) bool {
	return p.status == http.StatusOK && strings.HasSuffix(p.url.Path, "/login") && strings.Contains(p.body, `name="password"`)
}

// signIn fills the sign-in page p as alice (or who).
func (b *browser) signIn(p visit, who string) visit {
	b.t.Helper()
	if !isLoginPage(p) {
		b.t.Fatalf("expected the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return b.submit(p, map[string]string{"username": who, "password": goodPassword})
}

// deliver posts a SAML POST-binding page to its action (the SP's ACS) and
// returns what the SP made of it.
func (b *browser) deliver(p visit) acsResult {
	b.t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="saml-post"`) {
		b.t.Fatalf("expected the SAML POST page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	action, form := formOf(b.t, p)
	res := b.post(action, form)
	var r acsResult
	if err := json.Unmarshal([]byte(res.body), &r); err != nil {
		b.t.Fatalf("ACS answer: %v\n%s", err, res.body)
	}
	return r
}

// deflateB64 encodes s as the HTTP-Redirect binding would, for the query.
func deflateB64(t testing.TB, s string) string {
	t.Helper()
	var buf strings.Builder
	enc := base64.NewEncoder(base64.StdEncoding, &buf)
	zw, err := flate.NewWriter(enc, flate.BestCompression)
	must(t, err)
	_, _ = zw.Write([]byte(s))
	must(t, zw.Close())
	must(t, enc.Close())
	return url.QueryEscape(buf.String())
}

func timeMinutes(n int) time.Duration { return time.Duration(n) * time.Minute }
