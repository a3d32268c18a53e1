package oidc_test

import (
	"sync"
	"testing"
)

// Of several requests presenting one refresh token at once, one gets the
// successor; every other one, whether it saw the token spent or lost the
// rotation to the winner, is answered invalid_grant, never an invitation
// to retry with the same token.
func TestRefreshRaceLosersGetInvalidGrant(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "offline_access")
	tok, _ := r.signIn(e.browser(), "olivia@acme.example")

	const racers = 12
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[k] = r.refresh(tok.RefreshToken)
		}()
	}
	close(start)
	wg.Wait()

	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantOAuthError(t, err, "invalid_grant")
	}
	if won != 1 {
		t.Fatalf("%d racers got tokens, want 1", won)
	}
}
