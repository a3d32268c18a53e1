package saml

import (
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"

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
	clk := &testClock{}
	return newEnvOn(t, base, clk, sqltest.SQLite(t), ephemeraltest.MemoryAt(t, clk.Now), configure)
}

// newEnvOn runs on the given stores (PostgreSQL and Redis, say); clk should
// be the clock the ephemeral store reads, where it reads one.
func newEnvOn(t testing.TB, base string, clk *testClock, store storage.Store, eph storage.Ephemeral, configure func(*Config)) *env {
	t.Helper()
	templates.Must()
	ctx := context.Background()
	e := &env{t: t, clock: clk, store: store, eph: eph}
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
