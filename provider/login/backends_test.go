package login_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// The flow and session on the shared backends of a multi-node deployment:
// PostgreSQL and Redis. Redis keeps its own clock, so the clock here only
// drives the Service.
func TestOnPostgresAndRedis(t *testing.T) {
	c := newClock()
	e := newEnvOn(t, c, backend{dir: sqltest.Postgres(t), eph: ephemeraltest.Redis(t)}, nil)
	ctx := context.Background()

	b := e.browser()
	if p := b.signIn("", "alice@acme.example", "wrong password"); p.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", p.status)
	}
	p := b.signIn("rp=wiki&scopes=openid,email", "carol@acme.example", goodPassword)
	if !isConsentPage(p) {
		t.Fatalf("want consent, got %d %s", p.status, p.url)
	}
	r := b.submit(p, map[string]string{"consent": "allow"}).result(t)
	if r.UserID != "u-carol" {
		t.Fatalf("result = %+v", r)
	}
	if again := b.get("/test/begin?rp=wiki&scopes=openid").result(t); again.SessionID != r.SessionID || b.sawLoginPage() {
		t.Fatalf("SSO reuse: %+v %v", again, b.visits)
	}
	if err := e.svc.EndSession(ctx, r.SessionID); err != nil {
		t.Fatal(err)
	}
	if got := <-e.ended; got.Session.ID != r.SessionID {
		t.Fatalf("ended %+v", got)
	}
	if b.get("/test/whoami").status != http.StatusUnauthorized {
		t.Fatal("session survived its end")
	}
}

// With the ephemeral store down, the pages say so with a 503, never a 500.
func TestEphemeralStoreDown(t *testing.T) {
	c := newClock()
	red := ephemeraltest.Redis(t)
	e := newEnvOn(t, c, backend{dir: sqltest.SQLite(t), eph: red}, nil)
	b := e.browser()
	p := b.get("/test/begin")
	if !isLoginPage(p) {
		t.Fatalf("begin: %d", p.status)
	}
	_ = red.Close()
	for name, got := range map[string]page{
		"begin":   b.get("/test/begin"),
		"login":   b.get("/login?flow=" + p.flowID()),
		"post":    b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword}),
		"finish":  b.get("/test/return?flow=" + p.flowID()),
		"whoami?": b.get("/test/whoami"),
	} {
		if name == "whoami?" {
			// Current has no error to give: no session.
			if got.status != http.StatusUnauthorized {
				t.Errorf("%s: %d", name, got.status)
			}
			continue
		}
		if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, "temporarily unavailable") {
			t.Errorf("%s: %d", name, got.status)
		}
	}
}
