package e2e

import (
	"bufio"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

var routeCount = regexp.MustCompile(`^gatehouse_http_request_duration_seconds_count\{.*route="([^"]+)".*\} (\S+)$`)

// served counts the requests node i has answered, by route, from its
// metrics: proof that a hop the test steered went where it was sent.
func (f *fleet) served(t testing.TB, i int) map[string]float64 {
	t.Helper()
	resp, err := http.Get(f.Nodes[i].URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := routeCount.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] += n
		}
	}
	return out
}

// hop runs fn and checks that node i answered a request for route while
// it ran.
func (f *fleet) hop(t testing.TB, i int, route string, fn func()) {
	t.Helper()
	before := f.served(t, i)[route]
	fn()
	if after := f.served(t, i)[route]; after <= before {
		routes := f.served(t, i)
		keys := make([]string, 0, len(routes))
		for k := range routes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Fatalf("node %d served no %q during the hop; it knows %v", i, route, keys)
	}
}

// A sign-in started on one node finishes on another: the authorization
// request on node 0, the sign-in page on node 1, its form on node 2, the
// return to the relying party on node 0, and the code exchanged at node 1.
// Afterwards the SSO session answers on every node.
func clusterSignInAcrossNodes(t *testing.T, f *fleet) {
	r := f.rp(t, 0, "profile", "email", "offline_access")
	b := f.browser(t, 0).stepwise()
	email := fleetEmail("ana")

	var p *page
	var verifier string
	var g fleetGrant
	f.hop(t, 0, "GET /oauth2/authorize", func() { p, verifier = f.authorize(b, r) })
	if p.Location == nil || !strings.HasPrefix(p.Location.String(), f.Issuer) {
		t.Fatalf("authorize on node 0: want a redirect to the sign-in page, got %d at %s", p.Status, p.URL)
	}
	f.hop(t, 1, "GET /login", func() { p = b.on(1).follow(p) })
	if p.Status != http.StatusOK || len(p.Forms) == 0 {
		t.Fatalf("sign-in page on node 1: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	f.hop(t, 2, "POST /login", func() { p = b.on(2).signIn(p, email, fleetPassword) })
	if p.Location == nil {
		t.Fatalf("sign-in form on node 2: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	f.hop(t, 0, "GET /oauth2/authorize/resume", func() { p = b.on(0).follow(p) })
	f.hop(t, 1, "POST /oauth2/token", func() { g = f.exchange(t, r, p, verifier, 1) })
	if c := g.claims(t); c.Email != email || c.SID == "" {
		t.Fatalf("claims %+v", c)
	}

	// The session made on node 2 serves a silent request on every node,
	// and each node's code is good at the next.
	for i := range f.Nodes {
		p, v := f.authorize(b.on(i), r, oauth2.SetAuthURLParam("prompt", "none"))
		p = b.follow(p)
		g2 := f.exchange(t, r, p, v, (i+1)%len(f.Nodes))
		if g2.claims(t).SID != g.claims(t).SID {
			t.Fatalf("node %d: sid %q, want the session's %q", i, g2.claims(t).SID, g.claims(t).SID)
		}
	}

	// A code is good once, wherever it is presented the second time.
	p, v := f.authorize(b.on(2), r)
	p = b.follow(p)
	code := p.Location.Query().Get("code")
	if _, err := r.conf.Exchange(f.ctx(0), code, oauth2.VerifierOption(v)); err != nil {
		t.Fatalf("first exchange at node 0: %v", err)
	}
	if _, err := r.conf.Exchange(f.ctx(1), code, oauth2.VerifierOption(v)); grantError(err) != "invalid_grant" {
		t.Fatalf("second exchange of one code at node 1: %v, want invalid_grant", err)
	}
}
