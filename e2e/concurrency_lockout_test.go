package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// racePasswords opens n sign-in pages spread over the nodes, each in a
// browser of its own (its own address), then posts all n forms at once
// with password and returns the statuses.
func (f *fleet) racePasswords(t *testing.T, n int, email, password string) []int {
	t.Helper()
	r := f.rp(t, 0)
	reqs := make([]*http.Request, n)
	browsers := make([]*fleetBrowser, n)
	for k := range n {
		b, p := f.loginPage(t, r, k%len(f.Nodes))
		req, err := formPost(p, "username", map[string]string{"username": email, "password": password})
		if err != nil {
			t.Fatal(err)
		}
		reqs[k], browsers[k] = req, b
	}
	statuses := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := browsers[k].c.Do(reqs[k])
			if err != nil {
				errs[k] = err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[k] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("sign-in %d at node %d: %v", k, k%len(f.Nodes), err)
		}
	}
	return statuses
}

// formPost is the request that submitting p's form with an input named
// field would send, its fields overridden by set; safe to send from any
// goroutine.
func formPost(p *page, field string, set map[string]string) (*http.Request, error) {
	for _, fm := range p.Forms {
		if _, ok := fm.Fields[field]; !ok {
			continue
		}
		v := url.Values{}
		for k, vs := range fm.Fields {
			v[k] = append([]string(nil), vs...)
		}
		for k, s := range set {
			v.Set(k, s)
		}
		req, err := http.NewRequest(http.MethodPost, fm.Action, strings.NewReader(v.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
	return nil, fmt.Errorf("no form with %q on %s", field, p.URL)
}

func countStatuses(statuses []int) map[int]int {
	m := map[int]int{}
	for _, s := range statuses {
		m[s]++
	}
	return m
}

// Twelve wrong passwords for one user at once, over three nodes: exactly
// threshold-1 of them are told the password is wrong, the rest that the
// account is locked, and the lock holds on every node.
func concurrentLockout(t *testing.T, f *fleet) {
	const racers = 12
	email := fleetEmail("jay")
	got := countStatuses(f.racePasswords(t, racers, email, "wrong-password"))
	want := map[int]int{http.StatusUnauthorized: fleetThreshold - 1, http.StatusForbidden: racers - fleetThreshold + 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	r := f.rp(t, 0)
	for i := range f.Nodes {
		if !f.user(t, i, email).Locked {
			t.Errorf("node %d: the API does not show the lock", i)
		}
		b, p := f.loginPage(t, r, i)
		if p = b.signIn(p, email, fleetPassword); p.Status != http.StatusForbidden {
			t.Errorf("node %d: the right password on a locked account: %d, want 403", i, p.Status)
		}
	}
}

// One failure short of the threshold, all at once over three nodes: every
// one is a plain failure, nothing is locked, and the right password then
// signs in.
func concurrentBelowThreshold(t *testing.T, f *fleet) {
	email := fleetEmail("kim")
	got := countStatuses(f.racePasswords(t, fleetThreshold-1, email, "wrong-password"))
	if want := map[int]int{http.StatusUnauthorized: fleetThreshold - 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for i := range f.Nodes {
		if f.user(t, i, email).Locked {
			t.Errorf("node %d: locked below the threshold", i)
		}
	}
	r := f.rp(t, 0)
	b, p := f.loginPage(t, r, 2)
	if p = b.signIn(p, email, fleetPassword); p.Location == nil || p.Location.Query().Get("code") == "" {
		t.Fatalf("the right password after %d failures: %d at %s", fleetThreshold-1, p.Status, p.URL)
	}
}
