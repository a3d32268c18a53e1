package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// pgCut stands between a node and PostgreSQL, so that the test can take
// the server away and bring it back on the same address, as a restart
// would, without touching the shared server.
type pgCut struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func startPGCut(t *testing.T, target string) *pgCut {
	t.Helper()
	p := &pgCut{addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.listen(t)
	t.Cleanup(p.down)
	return p
}

// listen starts accepting on p.addr (the same address after a down).
func (p *pgCut) listen(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				continue
			}
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *pgCut) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil { // went down while dialling
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// down stops listening and resets every connection: the server is gone.
func (p *pgCut) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// loadOutcome is one request of the load: its status (0: no answer), whether a
// failure answered with a page or a JSON error, and how long it took.
type loadOutcome struct {
	what   string
	status int
	clean  bool
	err    error
	took   time.Duration
}

// loadDeadline is how long any request may take: the store gives up on an
// operation after 10 s, so a request that takes longer is hanging.
const loadDeadline = 15 * time.Second

// loadFetch does one request without the test's helpers (which may not run
// off the test's goroutine) and notes its outcome.
func loadFetch(c *http.Client, req *http.Request, what string) (*page, loadOutcome) {
	start := time.Now()
	resp, err := c.Do(req)
	o := loadOutcome{what: what, err: err}
	if err != nil {
		o.took = time.Since(start)
		return nil, o
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	o.took, o.status, o.err = time.Since(start), resp.StatusCode, err
	ct := resp.Header.Get("Content-Type")
	o.clean = resp.StatusCode < 500 ||
		(strings.HasPrefix(ct, "text/html") && strings.Contains(string(body), "</html>")) ||
		(strings.HasPrefix(ct, "application/json") && strings.Contains(string(body), `"error"`))
	p := &page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
		p.Location, _ = resp.Request.URL.Parse(loc)
	}
	if strings.HasPrefix(ct, "text/html") {
		p.Forms = parseForms(p.URL, string(body))
	}
	return p, o
}

// trySignIn runs a sign-in through to the code exchange, stopping at the
// first request that fails; it returns every request's outcome.
func (f *fleet) trySignIn(r *rp, email string) []loadOutcome {
	jar, _ := cookiejar.New(nil)
	iss, _ := url.Parse(f.Issuer)
	c := &http.Client{Jar: jar, Transport: f.route(0), Timeout: loadDeadline,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != iss.Host {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	v := oauth2.GenerateVerifier()
	req, _ := http.NewRequest(http.MethodGet, r.conf.AuthCodeURL(fleetState, oauth2.S256ChallengeOption(v)), nil)
	p, o := loadFetch(c, req, "authorize")
	out := []loadOutcome{o}
	if p == nil || p.Status != http.StatusOK {
		return out
	}
	req, err := formPost(p, "username", map[string]string{"username": email, "password": fleetPassword})
	if err != nil {
		return append(out, loadOutcome{what: "sign-in page", status: p.Status, err: err, clean: false})
	}
	p, o = loadFetch(c, req, "sign-in")
	out = append(out, o)
	if p == nil || p.Location == nil {
		return out
	}
	start := time.Now()
	_, err = r.conf.Exchange(f.ctx(0), p.Location.Query().Get("code"), oauth2.VerifierOption(v))
	o = loadOutcome{what: "exchange", status: http.StatusOK, clean: true, took: time.Since(start)}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		o.status = re.Response.StatusCode
		o.clean = re.ErrorCode != "" // an OAuth error in JSON
	} else if err != nil {
		o.status, o.err = 0, err
	}
	return append(out, o)
}

// tryWrite creates an organization through the API.
func (f *fleet) tryWrite(id string) loadOutcome {
	body := fmt.Sprintf(`{"id": %q, "name": "Org %s"}`, id, id)
	req, _ := http.NewRequest(http.MethodPost, f.Issuer+"/api/v1/partners/"+fleetPartner+"/organizations", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	req.Header.Set("Content-Type", "application/json")
	c := f.client(0)
	c.Timeout = loadDeadline
	_, o := loadFetch(c, req, "create organization "+id)
	return o
}

// PostgreSQL goes away under load and comes back on the same address:
// requests in flight succeed or fail cleanly (a 5xx with a page or a JSON
// error), none outlives the deadline, everything acknowledged before is
// still there, and the node recovers by itself.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	dsn := sqltest.PostgresDSN(t)
	redisURL, prefix := ephemeraltest.Prefix(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startPGCut(t, u.Host)
	u.Host = proxy.addr
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	dir := t.TempDir()
	n := startNode(t, nodeOptions{Dir: dir, Args: []string{"--seed", fleetSeed(t, dir)}, Env: []string{
		"GATEHOUSE_STORAGE_DSN=" + u.String(),
		"GATEHOUSE_REDIS_URL=" + redisURL,
		"GATEHOUSE_REDIS_PREFIX=" + prefix,
		"GATEHOUSE_SECURITY_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(key),
	}})
	f := fleetOf(t, n.URL, []*node{n}, nil, dir)
	f.signInAdmin(t)
	r := f.rp(t, 0)

	// Workers sign in and write until told to stop; PostgreSQL goes away
	// once they are under way and comes back a few seconds later.
	var (
		mu       sync.Mutex
		outcomes []loadOutcome
		written  []string // organizations the API acknowledged (201)
		seq      atomic.Int32
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	record := func(res ...loadOutcome) {
		mu.Lock()
		outcomes = append(outcomes, res...)
		mu.Unlock()
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var res []loadOutcome
				if w%2 == 0 {
					res = f.trySignIn(r, fleetEmail(fleetUsers[w]))
				} else {
					id := fmt.Sprintf("load-%d", seq.Add(1))
					res = []loadOutcome{f.tryWrite(id)}
					if res[0].status == http.StatusCreated {
						mu.Lock()
						written = append(written, id)
						mu.Unlock()
					}
				}
				record(res...)
				if last := res[len(res)-1]; last.status >= 500 || last.status == 0 {
					time.Sleep(50 * time.Millisecond) // back off, as a client would
				}
			}
		}()
	}
	time.Sleep(time.Second)
	proxy.down()
	time.Sleep(3 * time.Second)
	proxy.listen(t)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	failed := map[string]int{}
	for _, o := range outcomes {
		switch {
		case o.status == 0:
			t.Errorf("%s: no answer after %s: %v", o.what, o.took.Round(time.Millisecond), o.err)
		case o.took > loadDeadline:
			t.Errorf("%s: took %s", o.what, o.took)
		case !o.clean:
			t.Errorf("%s: %d without a page or a JSON error", o.what, o.status)
		case o.status >= 500:
			failed[fmt.Sprintf("%s %d", strings.Fields(o.what)[0], o.status)]++
		}
	}
	t.Logf("%d requests, %d organizations written; failures while PostgreSQL was away: %v", len(outcomes), len(written), failed)
	if len(failed) == 0 {
		t.Error("no request failed while PostgreSQL was away: the cut did not happen under load")
	}

	// The node recovered by itself, and lost nothing it acknowledged.
	f.waitReady(t, 0, 30*time.Second)
	for _, id := range written {
		if s := f.api(t, 0, http.MethodGet, "/organizations/"+id, nil, nil); s != http.StatusOK {
			t.Errorf("organization %s, acknowledged before or during the outage: %d", id, s)
		}
	}
	f.signIn(t, r, 0, fleetEmail("lea"))
	if o := f.tryWrite("after-the-outage"); o.status != http.StatusCreated {
		t.Errorf("API write after the outage: %d", o.status)
	}
}
