package login_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"gatehouse/passwords"
	"gatehouse/provider/login"
	"gatehouse/storage"
)

func TestPasswordSignIn(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.get("/test/begin?hint=alice@acme.example")
	if !isLoginPage(p) {
		t.Fatalf("want the sign-in page, got %d %s", p.status, p.url)
	}
	for _, want := range []string{`value="alice@acme.example"`, `autocomplete="username"`, `autocomplete="current-password"`, `for="password"`, `name="csrf_token"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	if csp := "Content-Security-Policy"; !strings.Contains(p.body, "<form") || strings.Contains(p.body, "<script") || strings.Contains(p.body, "style=") {
		t.Errorf("page must have a form and no inline script or style (%s)", csp)
	}
	r := b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword}).result(t)
	if r.UserID != "u-alice" || r.Error != "" || !slices.Equal(r.AMR, []string{"pwd"}) || r.SessionID == "" {
		t.Fatalf("result = %+v", r)
	}
	who := b.get("/test/whoami")
	if who.status != http.StatusOK || !strings.Contains(who.body, `"acr":"pwd"`) || !strings.Contains(who.body, r.SessionID) {
		t.Fatalf("whoami = %d %s", who.status, who.body)
	}
	// The ID relying parties see is not what the cookie holds.
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "gh_session" && c.Value == r.SessionID {
			t.Fatal("the session cookie is the public session ID")
		}
	}
}

func TestEmailIsCaseInsensitive(t *testing.T) {
	e := newEnv(t, nil)
	r := e.browser().signIn("", "  Alice@ACME.example ", goodPassword).result(t)
	if r.UserID != "u-alice" {
		t.Fatalf("result = %+v", r)
	}
}

func TestFailuresLookTheSame(t *testing.T) {
	e := newEnv(t, nil)
	cases := map[string][2]string{
		"wrong password": {"alice@acme.example", "not the password"},
		"unknown user":   {"nobody@acme.example", "not the password"},
		"unknown domain": {"nobody@elsewhere.example", goodPassword},
		"inactive user":  {"dave@acme.example", goodPassword},
		"no at sign":     {"alice", goodPassword},
		"empty password": {"alice@acme.example", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := e.browser()
			p := b.signIn("", c[0], c[1])
			if p.status != http.StatusUnauthorized || p.errorText() != "The username or password is wrong." {
				t.Fatalf("%d %q", p.status, p.errorText())
			}
			if !isLoginForm(p) {
				t.Fatal("the form is not shown again")
			}
			if b.get("/test/whoami").status != http.StatusUnauthorized {
				t.Fatal("a session was made")
			}
		})
	}
}

func isLoginForm(p page) bool { return strings.Contains(p.body, `name="password"`) }

func TestCoManagingUsername(t *testing.T) {
	e := newEnv(t, nil)
	r := e.browser().signIn("", "Carol@Acme.Example", goodPassword).result(t)
	if r.UserID != "u-carol" {
		t.Fatalf("result = %+v", r)
	}
	// Their email works too.
	r = e.browser().signIn("", "carol@customer.example", goodPassword).result(t)
	if r.UserID != "u-carol" {
		t.Fatalf("result = %+v", r)
	}
	// Another partner's domain does not find them.
	ctx := context.Background()
	if err := e.dir.CreatePartner(ctx, storage.Partner{ID: "other", Name: "Other", Domain: "other.example"}); err != nil {
		t.Fatal(err)
	}
	p := e.browser().signIn("", "carol@other.example", goodPassword)
	if p.status != http.StatusUnauthorized {
		t.Fatalf("carol@other.example: %d", p.status)
	}
}

func TestLockedUserIsTold(t *testing.T) {
	e := newEnv(t, nil)
	p := e.browser().signIn("", "frank@acme.example", goodPassword)
	if p.status != http.StatusForbidden || !strings.Contains(p.errorText(), "locked") {
		t.Fatalf("%d %q", p.status, p.errorText())
	}
}

func TestFormLimits(t *testing.T) {
	e := newEnv(t, nil)
	cases := map[string][3]string{
		"no username":       {"", goodPassword, "username"},
		"long username":     {strings.Repeat("a", 321) + "@acme.example", goodPassword, "username"},
		"too-long password": {"alice@acme.example", strings.Repeat("x", passwords.MaxBytes+1), "password"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := e.browser().signIn("", c[0], c[1])
			if p.status != http.StatusBadRequest || !strings.Contains(p.errorText(), c[2]) {
				t.Fatalf("%d %q", p.status, p.errorText())
			}
		})
	}
}

func TestOldHashUpgraded(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	old, _ := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
	if _, err := e.dir.UpdateUser(ctx, "u-bob", func(u storage.User) (storage.User, error) {
		u.PasswordHash = string(old)
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := e.browser().signIn("", "bob@acme.example", goodPassword).result(t); r.UserID != "u-bob" {
		t.Fatalf("result = %+v", r)
	}
	h := e.user("u-bob").PasswordHash
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash not upgraded: %s", h)
	}
	if ok, _, _ := passwords.Verify(testParams, h, goodPassword); !ok {
		t.Fatal("upgraded hash does not verify")
	}
}

func TestSignInToGatehouseItself(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.get("/login")
	if !isLoginPage(p) {
		t.Fatalf("GET /login: %d %s", p.status, p.url)
	}
	p = b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword})
	if p.url.Path != "/account" || p.body != "account of u-alice" {
		t.Fatalf("ended at %d %s: %s", p.status, p.url, p.body)
	}
	// Signed in, /login goes straight through.
	if p = b.get("/login?return_to=/account/security"); p.url.Path != "/account/security" {
		t.Fatalf("with a session /login went to %s", p.url)
	}
	// return_to is local only.
	for _, bad := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		p = b.get("/login?return_to=" + url.QueryEscape(bad))
		if p.url.Host != strings.TrimPrefix(e.srv.URL, "http://") || p.url.Path != "/account" {
			t.Fatalf("return_to %q went to %s", bad, p.url)
		}
	}
	// Sign out: session ended, cookie gone.
	acct := b.get("/login?prompt=login")
	p = b.post("/logout", url.Values{"csrf_token": {hiddenValue(acct, "csrf_token")}})
	if p.url.Path != "/logout/done" || !strings.Contains(p.body, "signed out") {
		t.Fatalf("logout: %d %s", p.status, p.url)
	}
	if b.get("/test/whoami").status != http.StatusUnauthorized {
		t.Fatal("still signed in after logout")
	}
	got := <-e.ended
	if got.Session.UserID != "u-alice" {
		t.Fatalf("ended %+v", got)
	}
}

func hiddenValue(p page, name string) string {
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		if h[1] == name {
			return h[2]
		}
	}
	return ""
}

func TestRoleNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	r := b.signIn("roles=admin,owner&scopes=openid", "bob@acme.example", goodPassword).result(t)
	if r.Error != login.ErrAccessDenied {
		t.Fatalf("result = %+v", r)
	}
	if slices.Contains(b.visits, "/login/consent") {
		t.Fatal("a refused user was asked for consent")
	}
	r = e.browser().signIn("roles=admin,owner", "alice@acme.example", goodPassword).result(t)
	if r.Error != "" || r.UserID != "u-alice" {
		t.Fatalf("result = %+v", r)
	}
	// Signed in, a relying party for other roles refuses at once, without a page.
	b = e.browser()
	b.signIn("", "alice@acme.example", goodPassword).result(t)
	r = b.get("/test/begin?roles=owner").result(t)
	if r.Error != login.ErrAccessDenied || b.sawLoginPage() {
		t.Fatalf("result = %+v, visits %v", r, b.visits)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.LoginRateLimit = 3 })
	b := e.browser()
	p := b.get("/test/begin")
	for i := 0; i < 3; i++ {
		p = b.submit(p, map[string]string{"username": "alice@acme.example", "password": "wrong"})
		if p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, p.status)
		}
	}
	p = b.submit(p, map[string]string{"username": "alice@acme.example", "password": goodPassword})
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("4th attempt: %d", p.status)
	}
}

// A session whose user was deleted meanwhile (before EndUserSessions ran)
// is refused cleanly where the flow reads the user.
func TestSessionOfDeletedUser(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn("", "bob@acme.example", goodPassword).result(t)
	if err := e.dir.DeleteUser(context.Background(), "u-bob"); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/test/begin?roles=tech").result(t); r.Error != login.ErrAccessDenied {
		t.Fatalf("result = %+v", r)
	}
}
