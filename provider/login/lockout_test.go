package login_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse/provider/login"
)

func TestLockoutAtThreshold(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.LockoutThreshold = 3 })
	for i := 1; i <= 2; i++ {
		p := e.browser().signIn("", "alice@acme.example", "wrong password")
		if p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %q", i, p.status, p.errorText())
		}
	}
	if e.user("u-alice").Locked(e.clock.Now()) {
		t.Fatal("locked before the threshold")
	}
	p := e.browser().signIn("", "alice@acme.example", "wrong password")
	if p.status != http.StatusForbidden || p.errorText() != "This account is locked after too many failed sign-ins. Ask your administrator to unlock it, or reset your password." {
		t.Fatalf("failure 3: %d %q", p.status, p.errorText())
	}
	u := e.user("u-alice")
	if !u.Locked(e.clock.Now().AddDate(50, 0, 0)) {
		t.Fatalf("LockedUntil = %v, want until unlocked", u.LockedUntil)
	}
	// The right password does not get in while locked.
	if p := e.browser().signIn("", "alice@acme.example", goodPassword); p.status != http.StatusForbidden {
		t.Fatalf("right password while locked: %d", p.status)
	}
	// An unlock clears the counter: one failure does not lock again.
	if err := e.svc.ResetLockout(context.Background(), "u-alice"); err != nil {
		t.Fatal(err)
	}
	if p := e.browser().signIn("", "alice@acme.example", "wrong password"); p.status != http.StatusUnauthorized {
		t.Fatalf("after unlock: %d", p.status)
	}
	if r := e.browser().signIn("", "alice@acme.example", goodPassword).result(t); r.UserID != "u-alice" {
		t.Fatalf("after unlock: %+v", r)
	}
}

func TestSuccessResetsFailures(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.LockoutThreshold = 3 })
	for round := 0; round < 3; round++ {
		for i := 0; i < 2; i++ {
			e.browser().signIn("", "alice@acme.example", "wrong password")
		}
		if r := e.browser().signIn("", "alice@acme.example", goodPassword).result(t); r.UserID != "u-alice" {
			t.Fatalf("round %d: %+v", round, r)
		}
	}
}

func TestTimedLockout(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.LockoutThreshold = 2; c.LockoutDuration = 15 * time.Minute })
	for i := 0; i < 2; i++ {
		e.browser().signIn("", "bob@acme.example", "wrong password")
	}
	u := e.user("u-bob")
	if !u.Locked(e.clock.Now()) || u.Locked(e.clock.Now().Add(16*time.Minute)) {
		t.Fatalf("LockedUntil = %v, want 15 minutes on", u.LockedUntil)
	}
}

// Twenty wrong passwords at once against a threshold of five: the atomic
// counter locks the account; no interleaving slips past the threshold.
func TestLockoutUnderConcurrency(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.LockoutThreshold = 5; c.LoginRateLimit = -1 })
	const n = 20
	pages := make([]page, n)
	browsers := make([]*browser, n)
	for i := range browsers {
		browsers[i] = e.browser()
		pages[i] = browsers[i].get("/test/begin")
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range browsers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i] = browsers[i].submit(pages[i], map[string]string{"username": "carol@acme.example", "password": "wrong " + strconv.Itoa(i)}).status
		}(i)
	}
	wg.Wait()
	u := e.user("u-carol")
	if !u.Locked(e.clock.Now()) {
		t.Fatal("not locked after 20 concurrent failures")
	}
	raw, err := e.eph.Get(context.Background(), login.LockoutKey("u-carol"))
	if err != nil {
		t.Fatal(err)
	}
	count, _ := strconv.Atoi(string(raw))
	if count < 5 {
		t.Fatalf("counter = %d, want at least 5", count)
	}
	wrong, locked := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusUnauthorized:
			wrong++
		case http.StatusForbidden:
			locked++
		default:
			t.Fatalf("status %d", s)
		}
	}
	// Exactly four attempts can be told "wrong": the fifth counted failure
	// locks, and so does every one after it.
	if wrong != 4 || locked != n-4 {
		t.Fatalf("%d wrong, %d locked; want 4 and %d", wrong, locked, n-4)
	}
}
