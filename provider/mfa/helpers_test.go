package mfa_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"gatehouse/keys"
	"gatehouse/passwords"
	"gatehouse/provider/login"
	"gatehouse/provider/mfa"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
	"gatehouse/templates"
)

// testParams keep argon2id cheap in tests.
var testParams = passwords.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const (
	goodPassword = "correct horse battery staple"
	issuer       = "http://gatehouse.test"
)

// clock is a settable time source shared by the services and the memory
// store, so a test steps past a TOTP period or a TTL without sleeping.
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

type backend struct {
	dir storage.Store
	eph storage.Ephemeral
}

// env is the sign-in service with the second-factor steps, the account
// security pages, a stand-in federation step, an SMS gateway, and a tiny
// adapter in place of OIDC and SAML: /test/begin parks a flow, /test/return
// answers the finished flow as JSON.
type env struct {
	t     testing.TB
	clock *clock
	dir   storage.Store
	eph   storage.Ephemeral
	box   *keys.Box
	svc   *login.Service
	mfa   *mfa.MFA
	srv   *httptest.Server
	mux   *http.ServeMux

	failMu   sync.Mutex
	failures []string // users OnFailure was called for

	sms chan smsMessage
}

type smsMessage struct {
	To      string `json:"to"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// options adjust an env.
type options struct {
	lockout     int
	noOnFailure bool // count through the flow's own lockout counter
	noSMS       bool
	backend     func(t testing.TB, c *clock) backend
	// localhost serves the issuer as http://localhost:PORT, a secure
	// context where a real browser allows WebAuthn.
	localhost bool
	issuer    string // instead of the default
}

func newEnv(t *testing.T, o options) *env {
	t.Helper()
	templates.Must()
	c := &clock{t: time.Now().Truncate(time.Second)}
	b := backend{}
	if o.backend != nil {
		b = o.backend(t, c)
	} else {
		b = backend{dir: sqltest.SQLite(t), eph: ephemeraltest.MemoryAt(t, c.Now)}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := keys.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: c, dir: b.dir, eph: b.eph, box: box, sms: make(chan smsMessage, 16)}
	mux := http.NewServeMux()
	e.mux = mux
	e.srv = httptest.NewUnstartedServer(mux)
	t.Cleanup(e.srv.Close)
	iss := issuer
	if o.issuer != "" {
		iss = o.issuer
	}
	if o.localhost {
		_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
		iss = "http://localhost:" + port
	}

	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m smsMessage
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&m) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		e.sms <- m
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(gateway.Close)

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := mfa.Config{
		Issuer:    iss,
		Directory: b.dir,
		Ephemeral: b.eph,
		Box:       box,
		CurrentUser: func(r *http.Request) (string, string, bool) {
			s, ok := e.svc.Current(r)
			if !ok {
				return "", "", false
			}
			return s.UserID, s.ID, true
		},
		Now:    c.Now,
		Logger: logger,
	}
	if !o.noSMS {
		cfg.SMSWebhook = gateway.URL + "/sms"
	}
	if !o.noOnFailure {
		cfg.OnFailure = func(ctx context.Context, userID string) error {
			e.failMu.Lock()
			e.failures = append(e.failures, userID)
			e.failMu.Unlock()
			return nil
		}
	}
	e.mfa, err = mfa.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	steps := append([]login.Step{fedStep{}}, e.mfa.Steps()...)
	e.svc = login.New(login.Config{
		Issuer:           iss,
		Directory:        b.dir,
		Ephemeral:        b.eph,
		PasswordParams:   testParams,
		LockoutThreshold: o.lockout,
		Steps:            steps,
		Now:              c.Now,
		Logger:           logger,
	})

	e.svc.Mount(mux)
	e.mfa.Mount(mux)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(templates.Static())))
	mux.HandleFunc("GET /test/begin", e.begin)
	mux.HandleFunc("GET /test/return", e.finish)
	mux.HandleFunc("GET /test/upstream", e.upstream)
	mux.HandleFunc("GET /test/whoami", func(w http.ResponseWriter, r *http.Request) {
		s, ok := e.svc.Current(r)
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "account")
	})
	e.srv.Start()
	e.seed()
	return e
}

// fedStep stands in for the federation step: a user with sso on is sent
// "upstream", which resumes the flow with amr fed.
type fedStep struct{}

func (fedStep) Name() string { return "federation" }

func (fedStep) Check(ctx context.Context, t *login.Turn) (login.Need, error) {
	u, err := t.User(ctx)
	if err != nil {
		return login.Need{}, err
	}
	if u.SSO && len(t.Flow.AMR) == 0 {
		return login.Need{Page: true}, nil
	}
	return login.Need{}, nil
}

func (fedStep) Serve(w http.ResponseWriter, r *http.Request, t *login.Turn) {
	http.Redirect(w, r, "/test/upstream?flow="+t.Flow.ID, http.StatusSeeOther)
}

func (e *env) upstream(w http.ResponseWriter, r *http.Request) {
	f, err := e.svc.LoadFlow(r, r.URL.Query().Get("flow"))
	if err != nil {
		e.svc.ShowError(w, r, err)
		return
	}
	f.AMR = []string{"fed"}
	f.AuthTime = e.clock.Now()
	e.svc.Resume(w, r, f)
}

// begin parks a flow as an adapter would; query: rp, force, mfa.
func (e *env) begin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := &login.Flow{
		Protocol:   login.ProtocolOIDC,
		RP:         q.Get("rp"),
		RPName:     "Test App",
		ReturnTo:   "/test/return?",
		ForceLogin: q.Has("force"),
		RequireMFA: q.Has("mfa"),
		Passive:    q.Has("passive"),
	}
	if f.RP == "" {
		f.RP = "app"
	}
	e.svc.Begin(w, r, f)
}

// result is what /test/return answers: what an adapter would put in its
// ID token or assertion.
type result struct {
	UserID    string   `json:"user_id"`
	AMR       []string `json:"amr"`
	ACR       string   `json:"acr"`
	MFAPaused bool     `json:"mfa_paused"`
	SessionID string   `json:"session_id"`
	Error     string   `json:"error"`
}

func (e *env) finish(w http.ResponseWriter, r *http.Request) {
	f, err := e.svc.Finish(w, r)
	if err != nil {
		e.svc.ShowError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(result{
		UserID: f.UserID, AMR: f.AMR, ACR: login.ACR(f.AMR), MFAPaused: f.MFAPaused,
		SessionID: f.SessionID, Error: f.Error,
	})
}

// Seeded directory:
//
//	partner acme (acme.example), require_mfa off; organization org1 with
//	co-management
//	  carol  co-managing (username carol): a factor is required
//	  alice  employee, admin: a factor is optional
//	  erin   co-managing, signs in through the partner's connection
//	partner strict (strict.example), require_mfa on
//	  sam    employee, tech
func (e *env) seed() {
	ctx := context.Background()
	must := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	must(e.dir.CreatePartner(ctx, storage.Partner{ID: "acme", Name: "Acme IT", Domain: "acme.example", PrimaryEmail: "owner@acme.example"}))
	must(e.dir.CreatePartner(ctx, storage.Partner{ID: "strict", Name: "Strict IT", Domain: "strict.example", PrimaryEmail: "owner@strict.example", RequireMFA: true}))
	must(e.dir.CreateOrganization(ctx, storage.Organization{ID: "org1", PartnerID: "acme", Name: "Customer Ltd", CoManagement: true}))
	hash, err := passwords.Hash(testParams, goodPassword)
	must(err)
	for _, u := range []storage.User{
		{ID: "u-carol", PartnerID: "acme", Email: "carol@customer.example", Username: "carol", OrganizationID: "org1", Kind: storage.KindCoManaging, Role: "co_managing"},
		{ID: "u-alice", PartnerID: "acme", Email: "alice@acme.example", Kind: storage.KindEmployee, Role: "admin", Phone: "+15555550100"},
		{ID: "u-erin", PartnerID: "acme", Email: "erin@customer.example", Username: "erin", OrganizationID: "org1", Kind: storage.KindCoManaging, Role: "co_managing", SSO: true},
		{ID: "u-sam", PartnerID: "strict", Email: "sam@strict.example", Kind: storage.KindEmployee, Role: "tech"},
	} {
		u.Name = strings.TrimPrefix(u.ID, "u-")
		u.PasswordHash = hash
		u.Active = true
		must(e.dir.CreateUser(ctx, u))
	}
}

func (e *env) user(id string) storage.User {
	e.t.Helper()
	u, err := e.dir.GetUser(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) updateUser(id string, fn func(*storage.User)) {
	e.t.Helper()
	if _, err := e.dir.UpdateUser(context.Background(), id, func(u storage.User) (storage.User, error) {
		fn(&u)
		return u, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) factors(userID string, kind storage.FactorKind) []storage.Factor {
	e.t.Helper()
	fs, err := e.dir.ListFactors(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(fs, func(f storage.Factor) bool { return kind != "" && f.Kind != kind })
}

func (e *env) failuresFor(userID string) int {
	e.failMu.Lock()
	defer e.failMu.Unlock()
	n := 0
	for _, u := range e.failures {
		if u == userID {
			n++
		}
	}
	return n
}

// nextSMS waits for the gateway to receive a message.
func (e *env) nextSMS() smsMessage {
	e.t.Helper()
	select {
	case m := <-e.sms:
		return m
	case <-time.After(10 * time.Second):
		e.t.Fatal("no text message reached the gateway")
		return smsMessage{}
	}
}

// code is the TOTP code for secret at the test clock's time.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
