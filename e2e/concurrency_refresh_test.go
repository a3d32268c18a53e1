package e2e

import (
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// refreshRacers is how many requests present one refresh token at once.
const refreshRacers = 16

// One refresh token presented by 16 requests at once, spread over the
// nodes, yields exactly one successor; every other request gets
// invalid_grant.
//
// Gatehouse keeps no grace window: a loser is a second presentation of a
// spent token, which is reuse (RFC 9700 section 4.14.2), so the family is
// revoked, the winner's successor with it. A client that refreshes from
// several threads at once must therefore serialise its refreshes, as
// x/oauth2's ReuseTokenSource does. This test pins that behaviour.
func concurrentRefresh(t *testing.T, f *fleet) {
	r := f.rp(t, 0, "offline_access")
	g, _ := f.signIn(t, r, 1, fleetEmail("ivy"))

	type result struct {
		tok *oauth2.Token
		err error
	}
	results := make([]result, refreshRacers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range refreshRacers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := f.refresh(r, k%len(f.Nodes), g.Token.RefreshToken)
			results[k] = result{tok, err}
		}()
	}
	close(start)
	wg.Wait()

	var winner *oauth2.Token
	for k, res := range results {
		switch {
		case res.err == nil && winner == nil:
			winner = res.tok
		case res.err == nil:
			t.Errorf("racer %d at node %d also got tokens: two successors of one refresh token", k, k%len(f.Nodes))
		case grantError(res.err) != "invalid_grant":
			t.Errorf("racer %d at node %d: %v, want invalid_grant", k, k%len(f.Nodes), res.err)
		}
	}
	if winner == nil {
		t.Fatal("no racer got tokens")
	}
	if t.Failed() {
		return
	}

	// The losers were reuse: the winner's successor is revoked with the
	// family, on every node.
	for i := range f.Nodes {
		if _, err := f.refresh(r, i, winner.RefreshToken); grantError(err) != "invalid_grant" {
			t.Errorf("node %d: the winner's refresh token after the losers' reuse: %v, want invalid_grant", i, err)
		}
	}
	f.assertInactive(t, "family after a refresh race", winner.AccessToken, winner.RefreshToken, g.Token.AccessToken)
}
