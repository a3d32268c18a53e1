package federation_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
