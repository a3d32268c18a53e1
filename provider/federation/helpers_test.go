package federation_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	dsig "github.com/russellhaering/goxmldsig"

	"gatehouse/keys"
	"gatehouse/passwords"
	"gatehouse/provider/federation"
	"gatehouse/provider/login"
	"gatehouse/provider/mfa"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
	"gatehouse/templates"
)

// testParams keep argon2id cheap in tests.
var testParams = passwords.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "correct horse battery staple"

// clock is a settable time source shared by every part of Gatehouse in a
// test. It starts at the real time: the upstream providers run on it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is Gatehouse's sign-in service with the federation step and the
// second-factor steps, behind an httptest server, with a real upstream
// OpenID provider (mockoidc, for partner acme) and a real SAML identity
// provider (crewjam's, for partner beta). A tiny adapter stands in for the
// protocols: /test/begin parks a flow, /test/return finishes it as JSON.
type env struct {
	t     *testing.T
	clock *clock
	store storage.Store
	eph   storage.Ephemeral
	box   *keys.Box
	keys  *keys.Manager
	svc   *login.Service
	fed   *federation.Federation
	srv   *httptest.Server
	oidc  *oidcUpstream
	saml  *samlUpstream
	// timeout is the federation's upstream timeout (default when zero).
	timeout time.Duration
}

// result is what /test/return answers.
type result struct {
	UserID    string   `json:"user_id"`
	AMR       []string `json:"amr"`
	ACR       string   `json:"acr"`
	SessionID string   `json:"session_id"`
	Error     string   `json:"error"`
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, options{})
}

// options vary an env: its backends, and how many Gatehouse nodes share
// them behind the one address (requests alternate between the nodes).
type options struct {
	backend func(t *testing.T, c *clock) (storage.Store, storage.Ephemeral)
	nodes   int
	timeout time.Duration
}

func newEnvWith(t *testing.T, o options) *env {
	t.Helper()
	templates.Must()
	c := &clock{t: time.Now()}
	e := &env{t: t, clock: c, timeout: o.timeout}
	if o.backend != nil {
		e.store, e.eph = o.backend(t, c)
	} else {
		e.store, e.eph = sqltest.SQLite(t), ephemeraltest.MemoryAt(t, c.Now)
	}
	if o.nodes < 1 {
		o.nodes = 1
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	var err error
	if e.box, err = keys.NewBox(key); err != nil {
		t.Fatal(err)
	}

	var muxes []*http.ServeMux
	var turn atomic.Int64
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		muxes[int(turn.Add(1))%len(muxes)].ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	// The test's handles (e.svc, e.fed, e.keys) are the last node's.
	for range o.nodes {
		muxes = append(muxes, e.node())
	}
	e.oidc = startOIDC(t)
	e.saml = startSAML(t)
	e.seed()
	return e
}

// node builds one Gatehouse node on the env's stores: keys, the sign-in
// service with the federation step and the second-factor steps, and the
// test adapter.
func (e *env) node() *http.ServeMux {
	t, c, issuer := e.t, e.clock, e.srv.URL
	e.keys = keys.NewManager(e.store, e.box, keys.Options{Now: c.Now, RSABits: 1024, Logger: quiet()})
	if err := e.keys.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, err := mfa.New(mfa.Config{
		Issuer: issuer, RPID: "localhost", RPOrigins: []string{issuer},
		Directory: e.store, Ephemeral: e.eph, Box: e.box,
		CurrentUser: func(r *http.Request) (string, string, bool) { return "", "", false },
		Now:         c.Now, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = login.New(login.Config{
		Issuer: issuer, Directory: e.store, Ephemeral: e.eph,
		PasswordParams: testParams, Now: c.Now, Logger: quiet(),
	})
	e.fed, err = federation.New(federation.Config{
		Issuer: issuer, Store: e.store, Ephemeral: e.eph, Login: e.svc,
		Box: e.box, Keys: e.keys, Now: c.Now, Logger: quiet(),
		// The upstream providers of the tests listen on 127.0.0.1.
		AllowPrivateUpstreams: true, Timeout: e.timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The order the wiring uses: federation, then the second factor.
	e.svc.Use(e.fed.Step())
	for _, st := range m.Steps() {
		e.svc.Use(st)
	}
	mux := http.NewServeMux()
	e.svc.Mount(mux)
	e.fed.Mount(mux)
	m.Mount(mux)
	svc := e.svc
	mux.HandleFunc("GET /test/begin", func(w http.ResponseWriter, r *http.Request) { begin(svc, w, r) })
	mux.HandleFunc("GET /test/return", func(w http.ResponseWriter, r *http.Request) { finish(svc, w, r) })
	return mux
}

func begin(svc *login.Service, w http.ResponseWriter, r *http.Request) {
	svc.Begin(w, r, &login.Flow{
		Protocol: login.ProtocolOIDC, RP: "app", RPName: "Test App",
		ReturnTo: "/test/return?", Request: json.RawMessage(`{}`),
		ForceLogin: r.URL.Query().Has("force"),
	})
}

func finish(svc *login.Service, w http.ResponseWriter, r *http.Request) {
	f, err := svc.Finish(w, r)
	if err != nil {
		svc.ShowError(w, r, err)
		return
	}
	res := result{UserID: f.UserID, AMR: f.AMR, SessionID: f.SessionID, Error: f.Error}
	if f.SessionID != "" {
		if s, err := svc.GetSession(r.Context(), f.SessionID); err == nil {
			res.ACR = s.ACR
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// Seeded directory.
//
// Partner acme signs in through an OIDC connection (acme-oidc, mockoidc):
//
//	u-olivia  olivia@acme.example, employee, sso on
//	u-carl    carl@customer.example, co-managing (username carl), sso on
//	u-paula   paula@acme.example, employee, sso off, password goodPassword
//	u-cora    cora@customer.example, co-managing (username cora), sso off,
//	          password goodPassword: a second factor is required of her
//
// Partner beta signs in through a SAML connection (beta-saml, crewjam IdP):
//
//	u-sam     sam@beta.example, employee, sso on
func (e *env) seed() {
	ctx := context.Background()
	must := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	now := e.clock.Now()
	must(e.store.CreatePartner(ctx, storage.Partner{ID: "acme", Name: "Acme IT", Domain: "acme.example", PrimaryEmail: "owner@acme.example"}))
	must(e.store.CreatePartner(ctx, storage.Partner{ID: "beta", Name: "Beta IT", Domain: "beta.example", PrimaryEmail: "owner@beta.example"}))
	must(e.store.CreateOrganization(ctx, storage.Organization{ID: "customer", PartnerID: "acme", Name: "Customer Ltd", CoManagement: true}))
	hash, err := passwords.Hash(testParams, goodPassword)
	must(err)
	users := []storage.User{
		{ID: "u-olivia", PartnerID: "acme", Email: "olivia@acme.example", Kind: storage.KindEmployee, Role: "admin", SSO: true},
		{ID: "u-carl", PartnerID: "acme", Email: "carl@customer.example", Username: "carl", OrganizationID: "customer", Kind: storage.KindCoManaging, Role: "co_managing", SSO: true},
		{ID: "u-paula", PartnerID: "acme", Email: "paula@acme.example", Kind: storage.KindEmployee, Role: "tech", PasswordHash: hash},
		{ID: "u-cora", PartnerID: "acme", Email: "cora@customer.example", Username: "cora", OrganizationID: "customer", Kind: storage.KindCoManaging, Role: "co_managing", PasswordHash: hash},
		{ID: "u-sam", PartnerID: "beta", Email: "sam@beta.example", Kind: storage.KindEmployee, Role: "tech", SSO: true},
	}
	for _, u := range users {
		u.Active = true
		u.Name = strings.TrimPrefix(u.ID, "u-")
		u.CreatedAt, u.UpdatedAt = now, now
		must(e.store.CreateUser(ctx, u))
	}
	secret, err := e.box.Seal([]byte(e.oidc.m.ClientSecret))
	must(err)
	must(e.store.CreateConnection(ctx, storage.Connection{
		ID: "acme-oidc", PartnerID: "acme", Type: "oidc", Name: "Acme Entra",
		Issuer: e.oidc.m.Issuer(), ClientID: e.oidc.m.ClientID, ClientSecret: secret,
		CreatedAt: now, UpdatedAt: now,
	}))
	must(e.store.CreateConnection(ctx, storage.Connection{
		ID: "beta-saml", PartnerID: "beta", Type: "saml", Name: "Beta Okta",
		MetadataURL: e.saml.srv.URL + "/metadata", CreatedAt: now, UpdatedAt: now,
	}))
}

func (e *env) user(id string) storage.User {
	e.t.Helper()
	u, err := e.store.GetUser(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// audit returns the partner's audit events with action.
func (e *env) audit(partner, action string) []storage.AuditEvent {
	e.t.Helper()
	evs, _, err := e.store.ListAudit(context.Background(), partner, storage.Page{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []storage.AuditEvent
	for _, ev := range evs {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// ─── the upstream OpenID provider ───────────────────────────────────────

// oidcUpstream is mockoidc with hooks: deny the next authorization with an
// error, rewrite the next successful token response, count authorizations.
type oidcUpstream struct {
	m          *mockoidc.MockOIDC
	mu         sync.Mutex
	deny       string
	tamper     func(map[string]any)
	delay      time.Duration // before answering the token endpoint, once
	authorized int
	lastAuth   url.Values
}

var mockKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func startOIDC(t *testing.T) *oidcUpstream {
	t.Helper()
	m, err := mockoidc.NewServer(mockKey())
	if err != nil {
		t.Fatal(err)
	}
	u := &oidcUpstream{m: m}
	if err := m.AddMiddleware(u.middleware); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return u
}

func (u *oidcUpstream) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case mockoidc.AuthorizationEndpoint:
			u.mu.Lock()
			u.authorized++
			u.lastAuth = r.URL.Query()
			deny := u.deny
			u.deny = ""
			u.mu.Unlock()
			if deny != "" {
				to, _ := url.Parse(r.URL.Query().Get("redirect_uri"))
				q := url.Values{"error": {deny}, "error_description": {"The user declined."}, "state": {r.URL.Query().Get("state")}}
				to.RawQuery = q.Encode()
				http.Redirect(w, r, to.String(), http.StatusFound)
				return
			}
		case mockoidc.TokenEndpoint:
			u.mu.Lock()
			delay := u.delay
			u.delay = 0
			u.mu.Unlock()
			if delay > 0 {
				select {
				case <-time.After(delay):
				case <-r.Context().Done():
					return
				}
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			u.mu.Lock()
			tamper := u.tamper
			if rec.Code == http.StatusOK && tamper != nil {
				u.tamper = nil
			}
			u.mu.Unlock()
			if rec.Code == http.StatusOK && tamper != nil {
				var m map[string]any
				_ = json.Unmarshal(body, &m)
				tamper(m)
				body, _ = json.Marshal(m)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// next queues who signs in upstream next.
func (u *oidcUpstream) next(user mockoidc.User) { u.m.QueueUser(user) }

func (u *oidcUpstream) denyNext(code string) {
	u.mu.Lock()
	u.deny = code
	u.mu.Unlock()
}

func (u *oidcUpstream) tamperNext(fn func(map[string]any)) {
	u.mu.Lock()
	u.tamper = fn
	u.mu.Unlock()
}

func (u *oidcUpstream) authorizations() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.authorized
}

// verifiedUser is a mockoidc user who sends email_verified whatever its
// value (mockoidc's own omits false).
type verifiedUser struct {
	*mockoidc.MockUser
	verified any
}

func (v verifiedUser) Claims(scope []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	base, err := v.MockUser.Claims(scope, c)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(base)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["email_verified"] = v.verified
	return jwt.MapClaims(m), nil
}

// ─── the upstream SAML identity provider ────────────────────────────────

// samlUpstream is crewjam's IdentityProvider with a queue of who signs in
// and a hook that may change each assertion before it is signed.
type samlUpstream struct {
	srv  *httptest.Server
	idp  *saml.IdentityProvider
	mu   sync.Mutex
	sess []*saml.Session
	hook func(*saml.Assertion)
	// requests counts AuthnRequests received.
	requests int
	lastReq  saml.AuthnRequest
}

var idpCert = sync.OnceValues(func() (*rsa.PrivateKey, *x509.Certificate) {
	return selfSigned("Test IdP", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
})

func selfSigned(cn string, notBefore, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
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
}

func startSAML(t *testing.T) *samlUpstream {
	t.Helper()
	u := &samlUpstream{}
	mux := http.NewServeMux()
	u.srv = httptest.NewServer(mux)
	t.Cleanup(u.srv.Close)
	key, cert := idpCert()
	md, _ := url.Parse(u.srv.URL + "/metadata")
	sso, _ := url.Parse(u.srv.URL + "/sso")
	u.idp = &saml.IdentityProvider{
		Key: key, Certificate: cert, Logger: logger.DefaultLogger,
		MetadataURL: *md, SSOURL: *sso,
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
		ServiceProviderProvider: u,
		SessionProvider:         u,
		AssertionMaker:          u,
	}
	mux.HandleFunc("GET /metadata", u.idp.ServeMetadata)
	mux.HandleFunc("/sso", func(w http.ResponseWriter, r *http.Request) {
		if req, err := saml.NewIdpAuthnRequest(u.idp, r); err == nil {
			var ar saml.AuthnRequest
			if xml.Unmarshal(req.RequestBuffer, &ar) == nil {
				u.mu.Lock()
				u.requests++
				u.lastReq = ar
				u.mu.Unlock()
			}
		}
		u.idp.ServeSSO(w, r)
	})
	return u
}

// GetServiceProvider fetches Gatehouse's SP metadata: the SP's entity ID
// is its metadata URL.
func (u *samlUpstream) GetServiceProvider(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	res, err := http.Get(id)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SP metadata: %d", res.StatusCode)
	}
	var ed saml.EntityDescriptor
	return &ed, xml.Unmarshal(b, &ed)
}

func (u *samlUpstream) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.sess) == 0 {
		http.Error(w, "nobody to sign in", http.StatusUnauthorized)
		return nil
	}
	s := u.sess[0]
	u.sess = u.sess[1:]
	return s
}

func (u *samlUpstream) MakeAssertion(req *saml.IdpAuthnRequest, s *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		return err
	}
	u.mu.Lock()
	hook := u.hook
	u.mu.Unlock()
	if hook != nil {
		hook(req.Assertion)
	}
	return nil
}

// next queues a person signing in with a persistent NameID and an email.
func (u *samlUpstream) next(nameID, email string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sess = append(u.sess, &saml.Session{
		ID: "s-" + nameID, CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "idx-" + nameID,
		NameID: nameID, NameIDFormat: string(saml.PersistentNameIDFormat), UserEmail: email, UserName: nameID,
	})
}

func (u *samlUpstream) setHook(h func(*saml.Assertion)) {
	u.mu.Lock()
	u.hook = h
	u.mu.Unlock()
}

// ─── the browser ────────────────────────────────────────────────────────

// browser is one user agent with its own cookies. It follows redirects and
// records every URL it was sent through.
type browser struct {
	t      *testing.T
	e      *env
	c      *http.Client
	visits []*url.URL
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, e: e}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.visits = append(b.visits, req.URL)
		return nil
	}}
	return b
}

type page struct {
	status int
	url    *url.URL
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	b.visits = append(b.visits, req.URL)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, url: res.Request.URL, body: string(body)}
}

// get visits a URL, absolute or relative to Gatehouse.
func (b *browser) get(rawURL string) page {
	b.t.Helper()
	b.visits = nil
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.e.srv.URL + rawURL
	}
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	return b.do(req)
}

func (b *browser) post(rawURL string, form url.Values) page {
	b.t.Helper()
	b.visits = nil
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.e.srv.URL + rawURL
	}
	req, _ := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	inputRe  = regexp.MustCompile(`<input type="hidden" name="([A-Za-z_]+)" value="([^"]*)"`)
	actionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// form reads the first form of a page: its action and hidden fields.
func (p page) form(t *testing.T) (string, url.Values) {
	t.Helper()
	m := actionRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form on the page (%d %s):\n%s", p.status, p.url, p.body)
	}
	v := url.Values{}
	for _, h := range inputRe.FindAllStringSubmatch(p.body, -1) {
		v.Set(h[1], html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), v
}

// submit posts the page's form with fields added.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	action, form := p.form(b.t)
	for k, v := range fields {
		form.Set(k, v)
	}
	if strings.HasPrefix(action, "/") {
		action = p.url.Scheme + "://" + p.url.Host + action
	}
	return b.post(action, form)
}

// signIn begins a flow and posts the login page with username and
// password.
func (b *browser) signIn(username, password string) page {
	b.t.Helper()
	p := b.get("/test/begin")
	if p.url.Path != "/login" || !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("expected the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return b.submit(p, map[string]string{"username": username, "password": password})
}

// wentTo reports whether the browser passed through a URL on host.
func (b *browser) wentTo(host string) bool {
	for _, u := range b.visits {
		if u.Host == host {
			return true
		}
	}
	return false
}

// result decodes the adapter's answer.
func (p page) result(t *testing.T) result {
	t.Helper()
	if p.url.Path != "/test/return" || p.status != http.StatusOK {
		t.Fatalf("expected the adapter's return, got %d %s:\n%s", p.status, p.url, p.body)
	}
	var r result
	if err := json.Unmarshal([]byte(p.body), &r); err != nil {
		t.Fatalf("return body: %v\n%s", err, p.body)
	}
	return r
}

// message is the page's main sentence.
func (p page) message() string {
	m := regexp.MustCompile(`(?s)<p role="alert" id="federation-error">(.*?)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// link returns the href of the element with id.
func (p page) link(id string) string {
	m := regexp.MustCompile(`<a href="([^"]+)" id="` + id + `"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// samlPost is the IdP's auto-posting form: where it goes and what.
type samlPost struct {
	action string
	form   url.Values
}

func (p page) samlForm(t *testing.T) samlPost {
	t.Helper()
	m := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("expected the IdP's form, got %d %s:\n%s", p.status, p.url, p.body)
	}
	v := url.Values{}
	for _, f := range regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		v.Set(f[1], html.UnescapeString(f[2]))
	}
	return samlPost{action: html.UnescapeString(m[1]), form: v}
}
