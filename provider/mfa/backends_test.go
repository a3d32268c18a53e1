package mfa_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// The second factor on the shared backends of a multi-node deployment:
// PostgreSQL and Redis. Redis keeps its own clock; the test clock drives
// TOTP codes.
func TestOnPostgresAndRedis(t *testing.T) {
	e := newEnv(t, options{backend: func(t testing.TB, c *clock) backend {
		return backend{dir: sqltest.Postgres(t), eph: ephemeraltest.Redis(t)}
	}})
	key := newAuthenticator(t, rpID, issuer)
	b := e.browser()
	secret, codes, r := b.enrolTOTP("", "carol@acme.example")
	if !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("enrolment: %+v", r)
	}
	b.registerPasskey(key, "Key")

	b2 := e.browser()
	p := b2.signIn("", "carol@acme.example")
	if p = b2.submit(p, map[string]string{"code": e.code(secret)}); p.errorText() != textBadCode {
		t.Fatalf("code reused across steps of the same period: %d %q", p.status, p.errorText())
	}
	e.clock.Advance(30 * time.Second)
	if r := b2.submit(p, map[string]string{"code": e.code(secret)}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("TOTP: %+v", r)
	}
	b3 := e.browser()
	p = b3.signIn("", "carol@acme.example")
	if r := b3.submit(p, map[string]string{"webauthn": key.sign(webauthnOptions(t, p)).JSON()}).result(t); !slices.Equal(r.AMR, amrPasskey) {
		t.Fatalf("passkey: %+v", r)
	}
	b4 := e.browser()
	p = b4.signIn("", "carol@acme.example")
	if r := b4.submit(p, map[string]string{"code": codes[0]}).result(t); !slices.Equal(r.AMR, amrFull) {
		t.Fatalf("recovery code: %+v", r)
	}
	e.updateUser("u-carol", func(u *storage.User) { u.MFAPauseNextLogin = true })
	b5 := e.browser()
	if r := b5.signIn("", "carol@acme.example").result(t); !slices.Equal(r.AMR, amrPwd) || !r.MFAPaused {
		t.Fatalf("paused: %+v", r)
	}
	if r := b5.get("/test/begin?rp=wiki").result(t); !r.MFAPaused {
		t.Fatalf("SSO in the paused session: %+v", r)
	}
	if p := e.browser().signIn("", "carol@acme.example"); !p.is(challengePath, http.StatusOK) {
		t.Fatalf("after the pause: %d %s", p.status, p.url)
	}
}
