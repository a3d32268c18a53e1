package login_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/provider/login"
)

// A fresh sign-in extends the session's life past the first sign-in's TTL;
// ending the user's sessions (a password reset, a deactivation) must still
// find it.
func TestRefreshedSessionEndsWithUser(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.SessionTTL = time.Hour })
	ctx := context.Background()
	b := e.browser()
	first := b.signIn("", "alice@acme.example", goodPassword).result(t)

	e.clock.Advance(50 * time.Minute)
	again := b.signIn("force", "alice@acme.example", goodPassword).result(t)
	if again.SessionID != first.SessionID {
		t.Fatalf("session %s→%s, want the same", first.SessionID, again.SessionID)
	}

	// Past the first sign-in's hour, within the refreshed one.
	e.clock.Advance(20 * time.Minute)
	if _, err := e.svc.GetSession(ctx, first.SessionID); err != nil {
		t.Fatalf("refreshed session: %v", err)
	}
	if err := e.svc.EndUserSessions(ctx, "u-alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetSession(ctx, first.SessionID); err == nil {
		t.Fatal("the refreshed session outlived EndUserSessions")
	}
	if p := b.get("/test/whoami"); p.status != 401 {
		t.Fatalf("the browser is still signed in: %d", p.status)
	}
}
