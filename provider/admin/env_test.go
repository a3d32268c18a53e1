package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/keys"
	"gatehouse/provider/web"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// clock ticks a millisecond on every reading, so events written one after
// another have distinct, ordered times without any sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Recorders of the interfaces the lead wires to the real session,
// invitation and notice code.
type sessionRecorder struct {
	mu    sync.Mutex
	ended []string
	fail  error
}

func (s *sessionRecorder) EndUser(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.ended = append(s.ended, id)
	return nil
}

func (s *sessionRecorder) Ended() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ended...)
}

type inviteRecorder struct {
	mu     sync.Mutex
	users  []string
	resent []string
	fail   error
}

func (i *inviteRecorder) Invite(_ context.Context, u storage.User) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.users = append(i.users, u.Email)
	return nil
}

// Refusals of the stand-in for account's ResendInvite, which InviteRefusal
// sorts as the wiring does account's own.
var (
	errTestSetUp    = errors.New("test: password already set")
	errTestInactive = errors.New("test: user inactive")
	errTestMailDown = errors.New("test: mail server down")
)

// ResendInvite refuses as account does, from the stored user: inactive,
// or a password already set.
func (i *inviteRecorder) ResendInvite(_ context.Context, u storage.User) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	switch {
	case i.fail != nil:
		return i.fail
	case !u.Active:
		return errTestInactive
	case u.PasswordHash != "":
		return errTestSetUp
	}
	i.resent = append(i.resent, u.Email)
	return nil
}

func (i *inviteRecorder) Resent() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.resent...)
}

func testInviteRefusal(err error) InviteRefusal {
	switch {
	case errors.Is(err, errTestSetUp):
		return InviteSetUp
	case errors.Is(err, errTestInactive):
		return InviteInactive
	}
	return InviteFailed
}

// connTester stands in for federation's connection test: it reads the
// stored connection and fails the issuer check of any issuer on
// broken.example, as an unreachable upstream would.
type connTester struct {
	store storage.Store
	mu    sync.Mutex
	runs  []string
}

func (c *connTester) Test(ctx context.Context, id string) (ConnectionReport, error) {
	conn, err := c.store.GetConnection(ctx, id)
	if err != nil {
		return ConnectionReport{}, err
	}
	c.mu.Lock()
	c.runs = append(c.runs, id)
	c.mu.Unlock()
	if strings.Contains(conn.Issuer, "broken.example") {
		return ConnectionReport{Checks: []ConnectionCheck{
			{Name: "issuer", OK: true, Detail: "The issuer is " + conn.Issuer + "."},
			{Name: "discovery", Detail: "Nothing answers at " + conn.Issuer + "/.well-known/openid-configuration: check the issuer URL."},
		}}, nil
	}
	return ConnectionReport{OK: true, Checks: []ConnectionCheck{{Name: "metadata", OK: true, Detail: "Found the metadata."}}}, nil
}

func (c *connTester) Runs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.runs...)
}

type emailRecorder struct {
	mu    sync.Mutex
	calls []string
	taken string
}

func (r *emailRecorder) RequestEmailChange(_ context.Context, u storage.User, email string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if email == r.taken {
		return fmt.Errorf("taken: %w", storage.ErrAlreadyExists)
	}
	r.calls = append(r.calls, u.ID+" "+email)
	return nil
}

func (r *emailRecorder) asked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

type pauseNotice struct {
	email     string
	until     time.Time
	nextLogin bool
	reason    string
}

type noticeRecorder struct {
	mu      sync.Mutex
	notices []pauseNotice
}

func (n *noticeRecorder) MFAPaused(_ context.Context, u storage.User, until time.Time, nextLogin bool, reason string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notices = append(n.notices, pauseNotice{u.Email, until, nextLogin, reason})
	return nil
}

// env is one Gatehouse partner administration over real stores: two
// partners, users of most roles, a handler on an httptest server.
type env struct {
	t        *testing.T
	store    storage.Store
	eph      storage.Ephemeral
	clock    *clock
	h        *Handler
	srv      *httptest.Server
	sessions *sessionRecorder
	invites  *inviteRecorder
	tester   *connTester
	notices  *noticeRecorder
	emails   *emailRecorder
	box      *keys.Box
	// users by short name (the email's local part at acme; "beta-owner" ...)
	users map[string]storage.User
}

type backend func(t *testing.T) (storage.Store, storage.Ephemeral, func(func() time.Time))

func sqliteMemory(t *testing.T) (storage.Store, storage.Ephemeral, func(func() time.Time)) {
	db := sqltest.SQLite(t)
	return db, ephemeraltest.Memory(t), func(now func() time.Time) { db.Now = now }
}

func postgresRedis(t *testing.T) (storage.Store, storage.Ephemeral, func(func() time.Time)) {
	db := sqltest.Postgres(t)
	return db, ephemeraltest.Redis(t), func(now func() time.Time) { db.Now = now }
}

// testCookie names the test's stand-in for the SSO session cookie.
const testCookie = "test_session"

func newEnv(t *testing.T, b backend) *env {
	t.Helper()
	store, eph, setNow := b(t)
	c := &clock{t: time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)}
	setNow(c.Now)
	box, err := keys.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, eph: eph, clock: c, box: box, users: map[string]storage.User{},
		sessions: &sessionRecorder{}, invites: &inviteRecorder{}, notices: &noticeRecorder{}, emails: &emailRecorder{},
		tester: &connTester{store: store}}
	e.seed()
	e.h = New(Config{
		Store: store, Ephemeral: eph, Box: box,
		VerifyToken: e.verify,
		CurrentUser: func(r *http.Request) (string, bool) {
			ck, err := r.Cookie(testCookie)
			if err != nil {
				return "", false
			}
			u, ok := e.users[ck.Value]
			return u.ID, ok
		},
		Sessions: e.sessions, Invites: e.invites, Notices: e.notices, EmailChanges: e.emails,
		Reinvites: e.invites, InviteRefusal: testInviteRefusal, TestConnection: e.tester.Test,
		Issuer: "https://id.example",
		Now:    c.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	mux := http.NewServeMux()
	e.h.Mount(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// verify maps opaque test tokens to users: "tok:NAME" carries the admin
// scope, "noadmin:NAME" only openid.
func (e *env) verify(_ context.Context, raw string) (string, []string, error) {
	if name, ok := strings.CutPrefix(raw, "tok:"); ok {
		if u, ok := e.users[name]; ok {
			return u.ID, []string{"openid", "admin"}, nil
		}
	}
	if name, ok := strings.CutPrefix(raw, "noadmin:"); ok {
		if u, ok := e.users[name]; ok {
			return u.ID, []string{"openid", "profile"}, nil
		}
	}
	return "", nil, errors.New("unknown token")
}

func (e *env) seed() {
	ctx := context.Background()
	must := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	must(e.store.CreatePartner(ctx, storage.Partner{ID: "acme", Name: "Acme MSP", Domain: "acme.example", PrimaryEmail: "owner@acme.example"}))
	must(e.store.CreatePartner(ctx, storage.Partner{ID: "beta", Name: "Beta IT", Domain: "beta.example", PrimaryEmail: "owner@beta.example"}))
	must(e.store.CreateOrganization(ctx, storage.Organization{ID: "globex", PartnerID: "acme", Name: "Globex Corp", CoManagement: true, SaaSAccount: "SP-1234"}))
	must(e.store.CreateOrganization(ctx, storage.Organization{ID: "initech", PartnerID: "acme", Name: "Initech"}))
	must(e.store.CreateOrganization(ctx, storage.Organization{ID: "hooli", PartnerID: "beta", Name: "Hooli", CoManagement: true}))
	add := func(name, partner string, kind storage.UserKind, role, org, username string) {
		u := storage.User{ID: "u-" + name, PartnerID: partner, Email: name + "@" + partner + ".example", Name: strings.ToUpper(name[:1]) + name[1:],
			Kind: kind, Role: role, OrganizationID: org, Username: username, Active: true,
			Notifications: storage.Notifications{Frequency: "daily"}}
		must(e.store.CreateUser(ctx, u))
		e.users[name] = u
	}
	emp := storage.KindEmployee
	add("owner", "acme", emp, "owner", "", "")
	add("superadmin", "acme", emp, "super_admin", "", "")
	add("admin", "acme", emp, "admin", "", "")
	add("business", "acme", emp, "business", "", "")
	add("finance", "acme", emp, "finance", "", "")
	add("support", "acme", emp, "support", "", "")
	add("tech", "acme", emp, "tech", "", "")
	add("sales", "acme", emp, "sales_marketing", "", "")
	add("orgadmin", "acme", storage.KindOrgUser, "org_admin", "globex", "")
	add("comanager", "acme", storage.KindCoManaging, "co_managing", "globex", "jdoe")
	add("client", "acme", storage.KindClient, "client", "initech", "")
	add("globexclient", "acme", storage.KindClient, "client", "globex", "")
	add("betaowner", "beta", emp, "owner", "", "")
	add("betaadmin", "beta", emp, "admin", "", "")
	add("betatech", "beta", emp, "tech", "", "")
}

// user reloads a user from the store.
func (e *env) user(name string) storage.User {
	e.t.Helper()
	u, err := e.store.GetUser(context.Background(), e.users[name].ID)
	if err != nil {
		e.t.Fatalf("user %s: %v", name, err)
	}
	return u
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %s: %v", r.status, r.body, err)
	}
}

func (r response) m(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	r.json(t, &v)
	return v
}

// apiErr decodes an error body and checks its shape.
func (r response) apiErr(t *testing.T) web.APIError {
	t.Helper()
	var e web.APIError
	r.json(t, &e)
	if e.Code == "" || e.Description == "" {
		t.Fatalf("error body lacks error or error_description: %s", r.body)
	}
	return e
}

// call sends a request as the user whose token is tok ("" for none). body
// is sent as is when a string, marshalled otherwise.
func (e *env) call(tok, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// as calls the API as the named user with an admin-scoped token.
func (e *env) as(name, method, path string, body any) response {
	e.t.Helper()
	return e.call("tok:"+name, method, path, body)
}

// want fails unless r has status.
func want(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// wantField fails unless r is a 422 naming field first in its description.
func wantField(t *testing.T, r response, field string) {
	t.Helper()
	want(t, r, http.StatusUnprocessableEntity)
	if e := r.apiErr(t); e.Code != "invalid_field" || !strings.HasPrefix(e.Description, field+":") {
		t.Fatalf("422 does not name %s: %s", field, r.body)
	}
}

func (e *env) auditActions(partner string) []string {
	e.t.Helper()
	events, _, err := e.store.ListAudit(context.Background(), partner, storage.Page{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range events {
		out = append(out, ev.Action)
	}
	return out
}

// scenario is one API test, run on every backend.
type scenario struct {
	name string
	fn   func(t *testing.T, e *env)
}

func run(t *testing.T, scenarios []scenario) {
	for _, b := range []struct {
		name string
		b    backend
	}{{"sqlite", sqliteMemory}, {"postgres", postgresRedis}} {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "postgres" && testing.Short() {
				t.Skip("PostgreSQL pass skipped in -short mode")
			}
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) { s.fn(t, newEnv(t, b.b)) })
			}
		})
	}
}
