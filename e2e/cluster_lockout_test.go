package e2e

import (
	"net/http"
	"testing"
)

// fleetThreshold is the default security.lockout_threshold the fleet runs
// with.
const fleetThreshold = 5

// loginPage opens a sign-in page on node i in a new browser.
func (f *fleet) loginPage(t testing.TB, r *rp, i int) (*fleetBrowser, *page) {
	t.Helper()
	b := f.browser(t, i)
	p, _ := f.authorize(b, r)
	if p.Status != http.StatusOK || len(p.Forms) == 0 {
		t.Fatalf("node %d: no sign-in page: %d at %s:\n%s", i, p.Status, p.URL, p.Body)
	}
	return b, p
}

// Failed sign-ins spread over the nodes lock the account at exactly the
// threshold, and the lock holds on every node; an admin's unlock at one
// node holds on every node too, and starts the count afresh.
func clusterLockout(t *testing.T, f *fleet) {
	r := f.rp(t, 0)
	email := fleetEmail("eve")
	b, p := f.loginPage(t, r, 0)

	for n := 1; n <= fleetThreshold; n++ {
		i := n % len(f.Nodes)
		p = b.on(i).signIn(p, email, "wrong-password")
		want := http.StatusUnauthorized
		if n == fleetThreshold {
			want = http.StatusForbidden
		}
		if p.Status != want {
			t.Fatalf("failure %d at node %d: %d, want %d:\n%s", n, i, p.Status, want, p.Body)
		}
	}
	for i := range f.Nodes {
		b, p := f.loginPage(t, r, i)
		if p = b.signIn(p, email, fleetPassword); p.Status != http.StatusForbidden {
			t.Errorf("node %d: the right password on a locked account: %d, want 403", i, p.Status)
		}
		if !f.user(t, i, email).Locked {
			t.Errorf("node %d: the API does not show the lock", i)
		}
	}

	id := f.user(t, 0, email).ID
	if s := f.api(t, 2, http.MethodPost, "/users/"+id+"/unlock", nil, nil); s != http.StatusNoContent {
		t.Fatalf("unlock at node 2: %d", s)
	}
	for i := range f.Nodes {
		if f.user(t, i, email).Locked {
			t.Errorf("node %d: still locked after the unlock", i)
		}
	}
	// The count starts again: one failure is only a failure.
	b, p = f.loginPage(t, r, 1)
	if p = b.signIn(p, email, "wrong-password"); p.Status != http.StatusUnauthorized {
		t.Fatalf("a failure after the unlock at node 1: %d, want 401", p.Status)
	}
	for i := range f.Nodes {
		b, p := f.loginPage(t, r, i)
		p = b.signIn(p, email, fleetPassword)
		if p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Errorf("node %d: sign-in after the unlock: %d at %s", i, p.Status, p.URL)
		}
	}
}
