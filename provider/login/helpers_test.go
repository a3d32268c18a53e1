package login_test

import (
	"context"
	"encoding/json"
	"fmt"
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

	"gatehouse/passwords"
	"gatehouse/provider/login"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
	"gatehouse/templates"
)

// testParams keep argon2id cheap in tests; the benchmark uses the real ones.
var testParams = passwords.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "correct horse battery staple"

// clock is a settable time source shared by the Service and the memory
// store, so a test can step past a TTL without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

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

// env is a Gatehouse sign-in service behind an httptest server, with a
// tiny adapter standing in for OIDC and SAML: /test/begin parks a flow
// built from its query, /test/return finishes it and answers JSON.
type env struct {
	t     testing.TB
	svc   *login.Service
	dir   storage.Store
	eph   storage.Ephemeral
	clock *clock
	srv   *httptest.Server
	mux   *http.ServeMux

	ended chan ended
}

type ended struct {
	Session login.Session
	Parts   []login.Participant
}

func (e *env) SessionEnded(ctx context.Context, s login.Session, parts []login.Participant) {
	e.ended <- ended{s, parts}
}

// result is what /test/return answers.
type result struct {
	UserID    string   `json:"user_id"`
	AMR       []string `json:"amr"`
	SessionID string   `json:"session_id"`
	AuthTime  int64    `json:"auth_time"`
	Error     string   `json:"error"`
	RP        string   `json:"rp"`
}

type backend struct {
	dir storage.Store
	eph storage.Ephemeral
}

func sqliteMemory(t testing.TB, c *clock) backend {
	return backend{dir: sqltest.SQLite(t), eph: ephemeraltest.MemoryAt(t, c.Now)}
}

func newEnv(t *testing.T, configure func(*login.Config)) *env {
	c := newClock()
	return newEnvOn(t, c, sqliteMemory(t, c), configure)
}

func newEnvOn(t testing.TB, c *clock, b backend, configure func(*login.Config)) *env {
	t.Helper()
	templates.Must()
	e := &env{t: t, dir: b.dir, eph: b.eph, clock: c, ended: make(chan ended, 16)}
	cfg := login.Config{
		Issuer:         "http://gatehouse.test",
		Directory:      b.dir,
		Ephemeral:      b.eph,
		PasswordParams: testParams,
		Now:            c.Now,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	e.svc = login.New(cfg)
	e.svc.OnSessionEnd(e)

	mux := http.NewServeMux()
	e.mux = mux
	e.svc.Mount(mux)
	mux.HandleFunc("GET /test/begin", e.begin)
	mux.HandleFunc("GET /test/return", e.finish)
	mux.HandleFunc("GET /test/whoami", func(w http.ResponseWriter, r *http.Request) {
		s, ok := e.svc.Current(r)
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		s, ok := e.svc.Current(r)
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "account of %s", s.UserID)
	})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.seed()
	return e
}

// begin parks a flow as an adapter would. Query: rp, force, passive,
// scopes (consent, comma-separated), force_consent, roles, hint, mfa.
func (e *env) begin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := &login.Flow{
		Protocol:   login.ProtocolOIDC,
		RP:         q.Get("rp"),
		ReturnTo:   "/test/return?",
		LoginHint:  q.Get("hint"),
		ForceLogin: q.Has("force"),
		Passive:    q.Has("passive"),
		RequireMFA: q.Has("mfa"),
		Request:    json.RawMessage(`{"state":"xyz"}`),
	}
	if f.RP == "" {
		f.RP = "app"
	}
	f.RPName = "Test App " + f.RP
	if q.Has("scopes") {
		f.Consent = &login.ConsentRequest{Scopes: strings.Split(q.Get("scopes"), ","), Force: q.Has("force_consent")}
	}
	if q.Has("roles") {
		f.AllowedRoles = strings.Split(q.Get("roles"), ",")
	}
	e.svc.Begin(w, r, f)
}

func (e *env) finish(w http.ResponseWriter, r *http.Request) {
	f, err := e.svc.Finish(w, r)
	if err != nil {
		e.svc.ShowError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(result{
		UserID: f.UserID, AMR: f.AMR, SessionID: f.SessionID, AuthTime: f.AuthTime.Unix(),
		Error: f.Error, RP: f.RP,
	})
}

// Seeded directory: partner acme (domain acme.example) with
//
//	alice  employee, admin, password goodPassword
//	bob    employee, tech
//	carol  co-managing, username carol, email carol@customer.example
//	dave   inactive
//	erin   sso on
//	frank  locked until an admin unlocks
func (e *env) seed() {
	ctx := context.Background()
	must := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	must(e.dir.CreatePartner(ctx, storage.Partner{ID: "acme", Name: "Acme IT", Domain: "acme.example", PrimaryEmail: "owner@acme.example"}))
	must(e.dir.CreateOrganization(ctx, storage.Organization{ID: "org1", PartnerID: "acme", Name: "Customer Ltd", CoManagement: true}))
	hash, err := passwords.Hash(testParams, goodPassword)
	must(err)
	users := []storage.User{
		{ID: "u-alice", Email: "alice@acme.example", Kind: storage.KindEmployee, Role: "admin", Active: true},
		{ID: "u-bob", Email: "bob@acme.example", Kind: storage.KindEmployee, Role: "tech", Active: true},
		{ID: "u-carol", Email: "carol@customer.example", Username: "carol", OrganizationID: "org1", Kind: storage.KindCoManaging, Role: "co_managing", Active: true},
		{ID: "u-dave", Email: "dave@acme.example", Kind: storage.KindEmployee, Role: "tech", Active: false},
		{ID: "u-erin", Email: "erin@acme.example", Kind: storage.KindEmployee, Role: "tech", Active: true, SSO: true},
		{ID: "u-frank", Email: "frank@acme.example", Kind: storage.KindEmployee, Role: "tech", Active: true, LockedUntil: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, u := range users {
		u.PartnerID = "acme"
		u.Name = strings.TrimPrefix(u.ID, "u-")
		u.PasswordHash = hash
		must(e.dir.CreateUser(ctx, u))
	}
}

// browser is one user agent with its own cookies. It records every path it
// was sent through, so a test can tell whether a page was shown.
type browser struct {
	t      testing.TB
	e      *env
	c      *http.Client
	visits []string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, e: e}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.visits = append(b.visits, req.URL.Path)
		return nil
	}}
	return b
}

// page is a response with its body read.
type page struct {
	status int
	url    *url.URL
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	b.visits = append(b.visits, req.URL.Path)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, url: res.Request.URL, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	b.visits = nil
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

var (
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	actionRe = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
)

// submit fills the page's form: hidden fields as they came, plus fields.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	m := actionRe.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on the page (%d %s):\n%s", p.status, p.url, p.body)
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(h[1], h[2])
	}
	for k, v := range fields {
		if v == "\x00" {
			form.Del(k)
			continue
		}
		form.Set(k, v)
	}
	return b.post(m[1], form)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	b.visits = nil
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn begins a flow with query and signs in with the login page.
func (b *browser) signIn(query, username, password string) page {
	b.t.Helper()
	p := b.get("/test/begin?" + query)
	if !isLoginPage(p) {
		b.t.Fatalf("expected the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return b.submit(p, map[string]string{"username": username, "password": password})
}

func isLoginPage(p page) bool {
	return p.status == http.StatusOK && p.url.Path == "/login" && strings.Contains(p.body, `name="password"`)
}

// result decodes the adapter's answer at ReturnTo.
func (p page) result(t testing.TB) result {
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

func (b *browser) sawLoginPage() bool {
	for _, v := range b.visits {
		if strings.HasPrefix(v, "/login") {
			return true
		}
	}
	return false
}

// flowID is the flow the page's URL or form carries.
func (p page) flowID() string {
	if id := p.url.Query().Get("flow"); id != "" {
		return id
	}
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		if h[1] == "flow" {
			return h[2]
		}
	}
	return ""
}

// errorText is the page's error paragraph.
func (p page) errorText() string {
	m := regexp.MustCompile(`<p class="error"[^>]*>([^<]*)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func (e *env) user(id string) storage.User {
	e.t.Helper()
	u, err := e.dir.GetUser(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}
