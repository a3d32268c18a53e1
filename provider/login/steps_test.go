package login_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gatehouse/provider/login"
)

// fedStep stands in for the federation step of a later issue: a user with
// sso on is sent to an "upstream" route, which resumes the flow.
type fedStep struct{}

func (fedStep) Name() string { return "federation" }

func (fedStep) Check(ctx context.Context, t *login.Turn) (login.Need, error) {
	u, err := t.User(ctx)
	if err != nil {
		return login.Need{}, err
	}
	if u.SSO && len(t.Flow.AMR) == 0 {
		return login.Need{Page: true}, nil
	}
	return login.Need{}, nil
}

func (fedStep) Serve(w http.ResponseWriter, r *http.Request, t *login.Turn) {
	http.Redirect(w, r, "/test/upstream?flow="+t.Flow.ID, http.StatusSeeOther)
}

// codeStep stands in for the second-factor step: when the relying party
// asks for mfa it wants the code "123456"; wrong codes count toward the
// lockout.
type codeStep struct{}

func (codeStep) Name() string { return "code" }

func (codeStep) Check(ctx context.Context, t *login.Turn) (login.Need, error) {
	f := t.Flow
	if !f.RequireMFA || slices.Contains(f.AMR, "fed") || slices.Contains(f.AMR, "mfa") {
		return login.Need{}, nil
	}
	return login.Need{Page: true}, nil
}

func (s codeStep) Serve(w http.ResponseWriter, r *http.Request, t *login.Turn) {
	if r.Method == http.MethodPost {
		if r.PostFormValue("code") == "123456" {
			t.Flow.AMR = append(t.Flow.AMR, "otp", "mfa")
			t.Flow.AuthTime = t.Now()
			t.Next(w, r)
			return
		}
		locked, err := t.CountFailure(r.Context())
		if err != nil {
			t.Unavailable(w, r, err)
			return
		}
		msg := "The code is wrong."
		if locked {
			msg = "locked"
		}
		t.Render(w, r, http.StatusUnauthorized, s, "login", msg, struct{ Username string }{})
		return
	}
	t.Render(w, r, http.StatusOK, s, "login", "", struct{ Username string }{})
}

func withSteps(steps ...login.Step) func(*login.Config) {
	return func(c *login.Config) { c.Steps = steps }
}

func TestSSOUserWithoutFederation(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	p := b.signIn("", "erin@acme.example", "")
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "organization") {
		t.Fatalf("%d %s", p.status, p.body)
	}
	if b.get("/test/whoami").status != http.StatusUnauthorized {
		t.Fatal("an sso user got a session without their connection")
	}
}

func TestFederationStepPlugsIn(t *testing.T) {
	e := newEnv(t, withSteps(fedStep{}))
	e.mux.HandleFunc("GET /test/upstream", func(w http.ResponseWriter, r *http.Request) {
		f, err := e.svc.LoadFlow(r, r.URL.Query().Get("flow"))
		if err != nil {
			e.svc.ShowError(w, r, err)
			return
		}
		f.AMR = []string{"fed"}
		f.AuthTime = e.clock.Now()
		e.svc.Resume(w, r, f)
	})

	b := e.browser()
	// Any password, or none: the connection authenticates.
	r := b.signIn("", "erin@acme.example", "whatever").result(t)
	if r.UserID != "u-erin" || !slices.Equal(r.AMR, []string{"fed"}) {
		t.Fatalf("result = %+v", r)
	}
	if !slices.Contains(b.visits, "/test/upstream") {
		t.Fatalf("never went upstream: %v", b.visits)
	}
	who := b.get("/test/whoami")
	if !strings.Contains(who.body, `"acr":"fed"`) {
		t.Fatalf("session: %s", who.body)
	}
	// Another browser cannot resume the flow upstream.
	p := e.browser().get("/test/begin")
	if got := e.browser().get("/test/upstream?flow=" + p.flowID()); !isExpiredPage(got) {
		t.Fatalf("foreign resume: %d", got.status)
	}
	// Password users are untouched by the step.
	if r := e.browser().signIn("", "alice@acme.example", goodPassword).result(t); !slices.Equal(r.AMR, []string{"pwd"}) {
		t.Fatalf("alice: %+v", r)
	}
}

func TestSecondFactorStepUp(t *testing.T) {
	c := newClock()
	e := newEnvOn(t, c, sqliteMemory(t, c), func(cfg *login.Config) {
		cfg.LockoutThreshold = 3
	})
	e.svc.Use(codeStep{})
	b := e.browser()

	// No mfa asked: password alone.
	first := b.signIn("", "alice@acme.example", goodPassword).result(t)
	if !slices.Equal(first.AMR, []string{"pwd"}) {
		t.Fatalf("first = %+v", first)
	}
	// mfa asked with a pwd session: straight to the code page, no password.
	p := b.get("/test/begin?mfa")
	if p.url.Path != "/login/code" || p.status != http.StatusOK {
		t.Fatalf("step-up went to %d %s", p.status, p.url)
	}
	// Passive: interaction_required.
	if r := b.get("/test/begin?mfa&passive").result(t); r.Error != login.ErrInteractionRequired {
		t.Fatalf("passive step-up: %+v", r)
	}
	wrong := b.submit(p, map[string]string{"code": "000000"})
	if wrong.status != http.StatusUnauthorized || wrong.errorText() != "The code is wrong." {
		t.Fatalf("wrong code: %d %q", wrong.status, wrong.errorText())
	}
	c.Advance(1)
	r := b.submit(wrong, map[string]string{"code": "123456"}).result(t)
	if r.SessionID != first.SessionID || !slices.Equal(r.AMR, []string{"pwd", "otp", "mfa"}) || r.AuthTime < first.AuthTime {
		t.Fatalf("step-up = %+v", r)
	}
	who := b.get("/test/whoami")
	if !strings.Contains(who.body, `"acr":"mfa"`) {
		t.Fatalf("session after step-up: %s", who.body)
	}
	// Now mfa requests pass on the session.
	if r := b.get("/test/begin?mfa").result(t); r.Error != "" || b.sawLoginPage() {
		t.Fatalf("after step-up: %+v %v", r, b.visits)
	}

	// Wrong codes count toward the lockout.
	b2 := e.browser()
	p = b2.signIn("force&mfa", "bob@acme.example", goodPassword)
	for i := 0; i < 3; i++ {
		p = b2.submit(p, map[string]string{"code": "999999"})
	}
	if p.errorText() != "locked" || !e.user("u-bob").Locked(c.Now()) {
		t.Fatalf("after 3 wrong codes: %q, user %+v", p.errorText(), e.user("u-bob").LockedUntil)
	}
}

func TestStepNamesReserved(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"consent", "password", "return", "forgot", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Use accepted the reserved name %q", name)
				}
			}()
			e.svc.Use(namedStep(name))
		}()
	}
}

type namedStep string

func (n namedStep) Name() string { return string(n) }
func (namedStep) Check(context.Context, *login.Turn) (login.Need, error) {
	return login.Need{}, nil
}
func (namedStep) Serve(http.ResponseWriter, *http.Request, *login.Turn) {}
