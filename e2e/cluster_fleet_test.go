package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The scale-out tests share one seed: a partner of their own, an owner who
// administers it through the API, one user per scenario (so scenarios run
// in parallel on one cluster without touching each other's state) and a
// confidential relying party that may ask for the admin scope.
const (
	fleetPartner  = "north"
	fleetOwner    = "owner@north.example"
	fleetPassword = "north-lantern-quartz-93" // every seeded user's, for brevity
	fleetClient   = "console"
	fleetSecret   = "console-secret-8d2a41c7e0"
	fleetRedirect = "http://localhost:9000/callback"
	fleetLoggedIn = "http://localhost:9000/"
	// fleetTOTP is fay's enrolled TOTP secret: a sign-in asks for a code.
	fleetTOTP = "JBSWY3DPEHPK3PXP"
)

// fleetUsers are the users of the seed besides the owner, one per scenario.
var fleetUsers = []string{"ana", "ben", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jay", "kim", "lea", "max"}

func fleetEmail(name string) string { return name + "@north.example" }

// fleetSeed writes the seed file into dir and returns its path.
func fleetSeed(t testing.TB, dir string) string {
	t.Helper()
	s := fmt.Sprintf(`partners:
  - id: %[1]s
    name: North MSP
    domain: north.example
    primary_email: %[2]s
users:
  - email: %[2]s
    partner: %[1]s
    kind: employee
    role: owner
    name: Nora Owner
    password: %[3]q
`, fleetPartner, fleetOwner, fleetPassword)
	for _, u := range fleetUsers {
		s += fmt.Sprintf(`  - email: %s
    partner: %s
    kind: employee
    role: tech
    name: %s Tester
    password: %q
`, fleetEmail(u), fleetPartner, u, fleetPassword)
		if u == "fay" {
			s += fmt.Sprintf("    totp_secret: %s\n", fleetTOTP)
		}
	}
	s += fmt.Sprintf(`clients:
  - id: %s
    name: Console
    secret: %q
    redirect_uris: [%s]
    post_logout_redirect_uris: [%s]
    grant_types: [authorization_code, refresh_token]
    scopes: [openid, profile, email, roles, offline_access, admin]
    token_endpoint_auth_method: client_secret_basic
    first_party: true
`, fleetClient, fleetSecret, fleetRedirect, fleetLoggedIn)
	path := filepath.Join(dir, "fleet-seed.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fleet is a cluster (or a single node) with the fleet seed, reached the
// way a load balancer with sticky routing would reach it: each client the
// test makes carries its own choice of node, so scenarios running in
// parallel steer their requests independently (the cluster's shared Route
// would have them fight over one switch).
type fleet struct {
	Issuer string
	Nodes  []*node
	Env    []string
	Dir    string

	transport *http.Transport
	addrs     atomic.Int32 // hands out a client address per browser
	admin     string       // the owner's access token with scope admin
}

// newFleet starts n nodes of a cluster on PostgreSQL and Redis with the
// fleet seed.
func newFleet(t testing.TB, n int) *fleet {
	t.Helper()
	dir := t.TempDir()
	c := startCluster(t, n, "--seed", fleetSeed(t, dir))
	return fleetOf(t, c.Issuer, c.Nodes, c.Env, c.Dir)
}

// fleetOf wraps nodes that share an issuer.
func fleetOf(t testing.TB, issuer string, nodes []*node, env []string, dir string) *fleet {
	f := &fleet{Issuer: issuer, Nodes: nodes, Env: env, Dir: dir,
		transport: &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}}
	t.Cleanup(f.transport.CloseIdleConnections)
	return f
}

// fleetRoute is a client's route to the fleet: requests for the issuer go to
// the node it points at, with the issuer's Host kept, from a client address
// of its own (X-Forwarded-For, which Gatehouse trusts from a loopback
// peer), so that the per-address sign-in rate limit counts each simulated
// browser apart, as it would count real ones.
type fleetRoute struct {
	f    *fleet
	at   atomic.Int32
	addr string
}

func (f *fleet) route(node int) *fleetRoute {
	n := f.addrs.Add(1)
	s := &fleetRoute{f: f, addr: fmt.Sprintf("10.77.%d.%d", n/250, n%250+1)}
	s.at.Store(int32(node))
	return s
}

// to points every following request at node i.
func (s *fleetRoute) to(i int) { s.at.Store(int32(i)) }

func (s *fleetRoute) RoundTrip(r *http.Request) (*http.Response, error) {
	iss, _ := url.Parse(s.f.Issuer)
	if r.URL.Host != iss.Host {
		return s.f.transport.RoundTrip(r)
	}
	target, _ := url.Parse(s.f.Nodes[int(s.at.Load())%len(s.f.Nodes)].URL)
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
	out.Host = iss.Host
	out.Header.Set("X-Forwarded-For", s.addr)
	resp, err := s.f.transport.RoundTrip(out)
	if resp != nil {
		// The client (its cookie jar, its redirects) sees the issuer's URL.
		resp.Request = r
	}
	return resp, err
}

// client is an HTTP client whose requests go to node i: a relying party's
// back channel (token, introspection, UserInfo) to that node.
func (f *fleet) client(i int) *http.Client {
	return &http.Client{Transport: f.route(i), Timeout: 30 * time.Second}
}

// ctx carries the client for node i to x/oauth2 and go-oidc.
func (f *fleet) ctx(i int) context.Context {
	return oidc.ClientContext(context.Background(), f.client(i))
}

// fleetBrowser is a browser and the route it takes.
type fleetBrowser struct {
	*browser
	route *fleetRoute
}

// browser returns a cookie-keeping browser whose requests go to node i
// until told otherwise.
func (f *fleet) browser(t testing.TB, i int) *fleetBrowser {
	b := newBrowser(t, f.Issuer)
	s := f.route(i)
	b.c.Transport = s
	b.c.Timeout = 30 * time.Second
	return &fleetBrowser{browser: b, route: s}
}

// on points the browser's following requests at node i.
func (b *fleetBrowser) on(i int) *fleetBrowser {
	b.route.to(i)
	return b
}

// stepwise makes the browser stop at every redirect, so the test chooses
// the node each hop goes to.
func (b *fleetBrowser) stepwise() *fleetBrowser {
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return b
}

// cookies copies the browser's Gatehouse cookies into another browser: the
// same session in a second window, or in a thief's hands.
func (b *fleetBrowser) cookiesTo(other *fleetBrowser) {
	u, _ := url.Parse(b.browser.issuer.String() + "/")
	other.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
}

// rp is the console relying party, discovering the issuer through node i.
func (f *fleet) rp(t testing.TB, i int, scopes ...string) *rp {
	t.Helper()
	ctx := f.ctx(i)
	p, err := oidc.NewProvider(ctx, f.Issuer)
	if err != nil {
		t.Fatalf("discovery at %s through node %d: %v", f.Issuer, i, err)
	}
	return &rp{
		t:        t,
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: fleetClient}),
		conf: oauth2.Config{ClientID: fleetClient, ClientSecret: fleetSecret, RedirectURL: fleetRedirect,
			Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, scopes...)},
	}
}
