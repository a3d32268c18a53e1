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

// The relying parties a session recorded are told when it ends, however
// long a fresh sign-in has extended it.
func TestRefreshedSessionKeepsParticipants(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.SessionTTL = time.Hour })
	ctx := context.Background()
	b := e.browser()
	first := b.signIn("", "alice@acme.example", goodPassword).result(t)
	part := login.Participant{Protocol: login.ProtocolOIDC, RP: "app"}
	if err := e.svc.Join(ctx, first.SessionID, part); err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(50 * time.Minute)
	if again := b.signIn("force", "alice@acme.example", goodPassword).result(t); again.SessionID != first.SessionID {
		t.Fatalf("session %s→%s, want the same", first.SessionID, again.SessionID)
	}
	e.clock.Advance(20 * time.Minute)
	if err := e.svc.EndSession(ctx, first.SessionID); err != nil {
		t.Fatal(err)
	}
	got := <-e.ended
	if len(got.Parts) != 1 || got.Parts[0].RP != "app" {
		t.Fatalf("ended with participants %+v, want app", got.Parts)
	}
}
