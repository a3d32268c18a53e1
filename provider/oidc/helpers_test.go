package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/clients"
	"gatehouse/keys"
	"gatehouse/passwords"
	"gatehouse/provider/login"
	"gatehouse/provider/oidc"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
	"gatehouse/templates"
)

// testParams keep argon2id cheap in tests.
var testParams = passwords.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "correct horse battery staple"

// env is Gatehouse's OIDC provider and sign-in service behind an httptest
// server, on SQLite and the in-process ephemeral store unless a test asks
// for other backends, with a seeded directory and a listener receiving
// back-channel logout tokens.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	issuer string
	p      *oidc.Provider
	login  *login.Service
	store  storage.Store
	eph    storage.Ephemeral
	keys   *keys.Manager
	reg    *clients.Registry

	// bcl receives the logout_token of every back-channel logout, with
	// the client it was sent to.
	bcl    *httptest.Server
	logout chan logoutDelivery
	// rpKeys serves the JWKS of the private_key_jwt client.
	rpKeys *rpKeySet

	discoverOnce sync.Once
	discovered   *gooidc.Provider
}

type logoutDelivery struct {
	Client string
	Token  string
}

type backends struct {
	store storage.Store
	eph   storage.Ephemeral
}

func sqliteMemory(t testing.TB) backends {
	return backends{store: sqltest.SQLite(t), eph: ephemeraltest.Memory(t)}
}

func newEnv(t testing.TB) *env { return newEnvOn(t, sqliteMemory(t), 1) }

// newEnvOn starts nodes Gatehouse nodes on the same stores behind one
// address, as behind a load balancer: requests go to them in turn, so a
// flow begun on one node goes on on another.
func newEnvOn(t testing.TB, b backends, nodes int, steps ...login.Step) *env {
	t.Helper()
	templates.Must()
	ctx := context.Background()
	e := &env{t: t, store: b.store, eph: b.eph, logout: make(chan logoutDelivery, 32)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	e.bcl = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.logout <- logoutDelivery{Client: r.URL.Query().Get("client"), Token: r.PostForm.Get("logout_token")}
	}))
	t.Cleanup(e.bcl.Close)
	e.rpKeys = newRPKeySet(t)

	var muxes []*http.ServeMux
	var next atomic.Uint64
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		muxes[next.Add(1)%uint64(len(muxes))].ServeHTTP(w, r)
	}))
	e.issuer = "http://" + e.srv.Listener.Addr().String()

	box, err := keys.NewBox(randomBytes(32))
	must(t, err)
	for i := 0; i < nodes; i++ {
		km := keys.NewManager(b.store, box, keys.Options{Logger: quiet})
		must(t, km.Ensure(ctx))
		reg := clients.NewRegistry(b.store, b.eph, time.Minute, nil)
		ls := login.New(login.Config{
			Issuer:         e.issuer,
			Directory:      b.store,
			Ephemeral:      b.eph,
			PasswordParams: testParams,
			LoginRateLimit: -1,
			Steps:          steps,
			Logger:         quiet,
		})
		p, err := oidc.New(oidc.Config{
			Issuer:    e.issuer,
			Store:     b.store,
			Ephemeral: b.eph,
			Clients:   reg,
			Keys:      km,
			Login:     ls,
			Logger:    quiet,
		})
		must(t, err)
		mux := http.NewServeMux()
		ls.Mount(mux)
		p.Mount(mux)
		muxes = append(muxes, mux)
		t.Cleanup(p.Wait)
		if i == 0 {
			e.p, e.login, e.keys, e.reg = p, ls, km, reg
		}
	}
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.seed()
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randomString() string { return base64.RawURLEncoding.EncodeToString(randomBytes(16)) }

// Seeded directory: partner acme with organization globex, and
//
//	olivia  owner, employee (every claim: phone, name in two words)
//	carl    client of globex
//	tina    tech, employee
//	ivan    inactive
//
// all with goodPassword. Clients, all first-party unless said otherwise:
//
//	academy  confidential, client_secret_basic, back-channel logout
//	portal   confidential, client_secret_post, back-channel logout
//	spa      public (PKCE)
//	kb       confidential, not first-party (consent)
//	backup   confidential, allowed_roles owner and admin
//	svc      client_credentials only
//	signed   private_key_jwt with the test's JWKS
//	es       confidential, ES256 ID tokens
func (e *env) seed() {
	t := e.t
	ctx := context.Background()
	must(t, e.store.CreatePartner(ctx, storage.Partner{ID: "acme", Name: "Acme MSP", Domain: "acme.example", PrimaryEmail: "owner@acme.example"}))
	must(t, e.store.CreateOrganization(ctx, storage.Organization{ID: "globex", PartnerID: "acme", Name: "Globex", CoManagement: true}))
	hash, err := passwords.Hash(testParams, goodPassword)
	must(t, err)
	for _, u := range []storage.User{
		{ID: "u-olivia", PartnerID: "acme", Email: "olivia@acme.example", Name: "Olivia Mae Owner", Kind: storage.KindEmployee, Role: "owner", Phone: "+15555550100"},
		{ID: "u-carl", PartnerID: "acme", Email: "carl@globex.example", Name: "Carl Client", Kind: storage.KindClient, Role: "client", OrganizationID: "globex"},
		{ID: "u-tina", PartnerID: "acme", Email: "tina@acme.example", Name: "Tina Tech", Kind: storage.KindEmployee, Role: "tech"},
		{ID: "u-ivan", PartnerID: "acme", Email: "ivan@acme.example", Name: "Ivan Inactive", Kind: storage.KindEmployee, Role: "tech"},
	} {
		u.PasswordHash = hash
		u.Active = u.ID != "u-ivan"
		must(t, e.store.CreateUser(ctx, u))
	}

	all := []string{"openid", "profile", "email", "phone", "roles", "offline_access", "admin"}
	bcl := func(client string) string { return e.bcl.URL + "/bcl?client=" + client }
	for _, c := range []struct {
		storage.Client
		secret string
	}{
		{storage.Client{ID: "academy", Name: "Academy", RedirectURIs: []string{"https://academy.example/callback"},
			PostLogoutRedirectURIs: []string{"https://academy.example/"}, BackchannelLogoutURI: bcl("academy"),
			Scopes: all, FirstParty: true}, "academy-secret"},
		{storage.Client{ID: "portal", Name: "Ticket Portal", RedirectURIs: []string{"https://portal.example/callback"},
			PostLogoutRedirectURIs: []string{"https://portal.example/bye"}, BackchannelLogoutURI: bcl("portal"),
			TokenEndpointAuthMethod: "client_secret_post", Scopes: all, FirstParty: true}, "portal-secret"},
		{storage.Client{ID: "spa", Name: "Network Manager", RedirectURIs: []string{"https://spa.example/callback"},
			Scopes: all, FirstParty: true}, ""},
		{storage.Client{ID: "kb", Name: "Knowledge Base", RedirectURIs: []string{"https://kb.example/callback"},
			Scopes: all}, "kb-secret"},
		{storage.Client{ID: "backup", Name: "Backup Console", RedirectURIs: []string{"https://backup.example/callback"},
			Scopes: all, AllowedRoles: []string{"owner", "admin"}, FirstParty: true}, "backup-secret"},
		{storage.Client{ID: "svc", Name: "Billing Service", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"admin"}, FirstParty: true}, "svc-secret"},
		{storage.Client{ID: "signed", Name: "Signed Client", RedirectURIs: []string{"https://signed.example/callback"},
			GrantTypes: []string{"authorization_code", "client_credentials"}, JWKSURI: e.rpKeys.srv.URL,
			TokenEndpointAuthMethod: "private_key_jwt", Scopes: all, FirstParty: true}, ""},
		{storage.Client{ID: "es", Name: "EC Client", RedirectURIs: []string{"https://es.example/callback"},
			Scopes: all, IDTokenAlg: "ES256", FirstParty: true}, "es-secret"},
	} {
		rc := c.Client
		if c.secret != "" {
			rc.SecretHash, err = passwords.Hash(testParams, c.secret)
			must(t, err)
		}
		rc = clients.Defaults(rc)
		must(t, clients.ValidateClient(rc))
		must(t, e.store.CreateClient(ctx, rc))
	}
}

// discover is the relying parties' view of the provider (go-oidc).
func (e *env) discover() *gooidc.Provider {
	e.discoverOnce.Do(func() {
		p, err := gooidc.NewProvider(context.Background(), e.issuer)
		must(e.t, err)
		e.discovered = p
	})
	return e.discovered
}

// rp is a relying party: x/oauth2 for the protocol, go-oidc to verify.
type rp struct {
	e      *env
	id     string
	cfg    oauth2.Config
	verify *gooidc.IDTokenVerifier
}

func (e *env) rp(clientID, secret string, scopes ...string) *rp {
	redirect := "https://" + clientID + ".example/callback"
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email"}
	}
	ep := e.discover().Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if clientID == "portal" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &rp{
		e:      e,
		id:     clientID,
		cfg:    oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: ep, RedirectURL: redirect, Scopes: scopes},
		verify: e.discover().Verifier(&gooidc.Config{ClientID: clientID}),
	}
}

// authRequest is one authorization request and what the RP remembers of it.
type authRequest struct {
	URL      string
	State    string
	Nonce    string
	Verifier string
}

func (r *rp) authorize(opts ...oauth2.AuthCodeOption) authRequest {
	a := authRequest{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{gooidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier)}, opts...)
	a.URL = r.cfg.AuthCodeURL(a.State, opts...)
	return a
}

// exchange swaps the code of a callback for tokens, checking the state.
func (r *rp) exchange(a authRequest, callback *url.URL) (*oauth2.Token, error) {
	r.e.t.Helper()
	q := callback.Query()
	if q.Get("error") != "" {
		r.e.t.Fatalf("callback carries error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != a.State {
		r.e.t.Fatalf("callback state %q, want %q", q.Get("state"), a.State)
	}
	return r.cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(a.Verifier))
}

// idToken verifies the token response's ID token and its nonce.
func (r *rp) idToken(a authRequest, tok *oauth2.Token) *gooidc.IDToken {
	r.e.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		r.e.t.Fatal("token response has no id_token")
	}
	id, err := r.verify.Verify(context.Background(), raw)
	must(r.e.t, err)
	if id.Nonce != a.Nonce {
		r.e.t.Fatalf("nonce %q, want %q", id.Nonce, a.Nonce)
	}
	return id
}

// signIn runs a whole code flow for user and returns the tokens.
func (r *rp) signIn(b *browser, user string) (*oauth2.Token, authRequest) {
	r.e.t.Helper()
	a := r.authorize()
	cb, _ := b.run(a.URL, user, "allow")
	tok, err := r.exchange(a, cb)
	must(r.e.t, err)
	return tok, a
}

// claimsOf decodes a verified ID token's claims.
func claimsOf(t testing.TB, id *gooidc.IDToken) map[string]any {
	t.Helper()
	var m map[string]any
	must(t, id.Claims(&m))
	return m
}

// pkceChallenge is the S256 challenge of a verifier.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// form posts a form to one of the provider's endpoints.
func (e *env) post(path string, form url.Values, basicUser, basicPass string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	must(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := http.DefaultClient.Do(req)
	must(e.t, err)
	return resp
}

func promptParam(v string) oauth2.AuthCodeOption { return oauth2.SetAuthURLParam("prompt", v) }
