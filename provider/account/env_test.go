package account_test

import (
	"context"
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

	"gatehouse/mail"
	"gatehouse/mail/mailtest"
	"gatehouse/passwords"
	"gatehouse/provider/account"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// cheap keeps argon2id fast in tests; the parameters are not what is tested.
var cheap = passwords.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// clock is the injected time; Memory's TTLs follow it too.
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
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ended records EndSessions calls.
type ended struct {
	mu    sync.Mutex
	calls [][2]string // user, except
}

func (e *ended) EndSessions(_ context.Context, userID, except string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, [2]string{userID, except})
	return nil
}

func (e *ended) Calls() [][2]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][2]string(nil), e.calls...)
}

// testSession is this package's stand-in for the SSO session cookie:
// "USER:SESSION". The real wiring uses the sign-in flow's session.
const testSession = "test_session"

func currentUser(r *http.Request) (string, string, bool) {
	c, err := r.Cookie(testSession)
	if err != nil {
		return "", "", false
	}
	uid, sid, ok := strings.Cut(c.Value, ":")
	return uid, sid, ok && uid != ""
}

type env struct {
	t       *testing.T
	h       *account.Handler
	srv     *httptest.Server
	store   storage.Store
	eph     storage.Ephemeral
	inbox   *mailtest.Inbox
	clock   *clock
	ended   *ended
	unlocks []string
	partner storage.Partner
}

type backend struct {
	name  string
	store func(testing.TB) storage.Store
	eph   func(testing.TB, func() time.Time) storage.Ephemeral
}

var (
	sqliteMemory = backend{"sqlite+memory",
		func(t testing.TB) storage.Store { return sqltest.SQLite(t) },
		func(t testing.TB, now func() time.Time) storage.Ephemeral { return ephemeraltest.MemoryAt(t, now) }}
	postgresRedis = backend{"postgres+redis",
		func(t testing.TB) storage.Store { return sqltest.Postgres(t) },
		func(t testing.TB, _ func() time.Time) storage.Ephemeral { return ephemeraltest.Redis(t) }}
)

func newEnv(t *testing.T, opts ...func(*account.Config)) *env {
	return newEnvOn(t, sqliteMemory, opts...)
}

func newEnvOn(t *testing.T, b backend, opts ...func(*account.Config)) *env {
	t.Helper()
	e := &env{
		t:     t,
		clock: &clock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)},
		ended: &ended{},
		store: b.store(t),
	}
	e.eph = b.eph(t, e.clock.Now)

	addr, inbox := mailtest.NewServer(t)
	e.inbox = inbox
	sender, err := mail.NewSMTP(mail.SMTPConfig{Addr: addr, From: "Gatehouse <no-reply@gatehouse.example>"})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	cfg := account.Config{
		Issuer:         e.srv.URL,
		Store:          e.store,
		Ephemeral:      e.eph,
		Mail:           sender, // synchronous: the mail is in the inbox when the page answers
		PasswordParams: cheap,
		CurrentUser:    currentUser,
		EndSessions:    e.ended.EndSessions,
		ResetLockout: func(_ context.Context, uid string) error {
			e.ended.mu.Lock()
			defer e.ended.mu.Unlock()
			e.unlocks = append(e.unlocks, uid)
			return nil
		},
		Services: func(_ context.Context, u storage.User) []account.Service {
			return []account.Service{{Name: "Academy", URL: "https://academy.example/"}}
		},
		SecurityPath:      "/account/security",
		Now:               e.clock.Now,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		ForgotMinDuration: 20 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.h = account.New(cfg)
	e.h.Mount(mux)

	e.partner = storage.Partner{ID: "acme", Name: "Acme MSP", Domain: "acme.example", PrimaryEmail: "owner@acme.example"}
	if err := e.store.CreatePartner(context.Background(), e.partner); err != nil {
		t.Fatal(err)
	}
	return e
}

// user creates a user; set adjusts the defaults first.
func (e *env) user(email string, set func(*storage.User)) storage.User {
	e.t.Helper()
	u := storage.User{
		ID: "u-" + strings.NewReplacer("@", "-", ".", "-").Replace(email), PartnerID: e.partner.ID, Email: email,
		Name: "Test " + email, Kind: storage.KindEmployee, Role: "tech", Active: true,
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
	}
	if set != nil {
		set(&u)
	}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return e.get(u.ID)
}

// withPassword gives a user a password.
func withPassword(pw string) func(*storage.User) {
	return func(u *storage.User) {
		h, err := passwords.Hash(cheap, pw)
		if err != nil {
			panic(err)
		}
		u.PasswordHash = h
	}
}

func (e *env) get(id string) storage.User {
	e.t.Helper()
	u, err := e.store.GetUser(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get user %s: %v", id, err)
	}
	return u
}

func (e *env) passwordIs(id, pw string) bool {
	e.t.Helper()
	u := e.get(id)
	if u.PasswordHash == "" {
		return false
	}
	ok, _, err := passwords.Verify(cheap, u.PasswordHash, pw)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	return ok
}

// browser is a cookie-jar client that does not follow redirects, so tests
// see them.
type browser struct {
	t   *testing.T
	c   *http.Client
	e   *env
	xff string // X-Forwarded-For: the address the server sees
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signIn sets the test session cookie.
func (b *browser) signIn(userID, sessionID string) {
	u, _ := url.Parse(b.e.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: testSession, Value: userID + ":" + sessionID, Path: "/"}})
}

type page struct {
	status   int
	body     string
	location string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: html.UnescapeString(string(body)), location: resp.Header.Get("Location")}
}

// get fetches a path or an absolute URL.
func (b *browser) get(target string) page {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.e.srv.URL + target
	}
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return b.do(req)
}

// post sends a form, with the browser's CSRF token unless the form has one.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf())
	}
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// csrf returns the browser's CSRF cookie, fetching a page to get one.
func (b *browser) csrf() string {
	b.t.Helper()
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "gh_csrf" {
			return c.Value
		}
	}
	b.get("/login/forgot")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "gh_csrf" {
			return c.Value
		}
	}
	b.t.Fatal("no CSRF cookie")
	return ""
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hidden returns the hidden inputs of a page's forms.
func (p page) hidden() url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], m[2])
	}
	return v
}

func (p page) has(t *testing.T, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Errorf("status %d, want %d; page:\n%s", p.status, status, p.body)
		return
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("page lacks %q:\n%s", s, p.body)
		}
	}
}

func (p page) lacks(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(p.body, s) {
			t.Errorf("page has %q:\n%s", s, p.body)
		}
	}
}

// path returns the path and query of a link from a mail.
func path(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || link == "" {
		t.Fatalf("bad link %q: %v", link, err)
	}
	return u.RequestURI()
}

// tokenOf returns the token of a link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}
