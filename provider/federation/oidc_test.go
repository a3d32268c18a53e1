package federation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"gatehouse/provider/federation"
)

func oliviaUpstream() *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "entra-olivia", Email: "Olivia@ACME.example", EmailVerified: true}
}

func TestOIDCSignInThroughPartnerConnection(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.oidc.next(oliviaUpstream())

	// Any password, or none: the password is not checked.
	r := b.signIn("olivia@acme.example", "not her password").result(t)
	if r.UserID != "u-olivia" || !slices.Equal(r.AMR, []string{"fed"}) || r.ACR != "fed" || r.Error != "" {
		t.Fatalf("federated sign-in: %+v", r)
	}
	mock, _ := url.Parse(e.oidc.m.Addr())
	if !b.wentTo(mock.Host) {
		t.Fatalf("the browser never went upstream: %v", b.visits)
	}
	auth := e.oidc.lastAuth
	if auth.Get("code_challenge_method") != "S256" || auth.Get("code_challenge") == "" || auth.Get("nonce") == "" || auth.Get("state") == "" {
		t.Fatalf("authorization request lacks PKCE, nonce or state: %v", auth)
	}
	if auth.Get("redirect_uri") != e.srv.URL+"/federation/acme-oidc/callback" || auth.Get("login_hint") != "olivia@acme.example" {
		t.Fatalf("authorization request: %v", auth)
	}
	if got := e.user("u-olivia").UpstreamSubject; got != "acme-oidc|entra-olivia" {
		t.Fatalf("upstream subject stored as %q", got)
	}
	if n := len(e.audit("acme", "federation.link")); n != 1 {
		t.Fatalf("%d federation.link events, want 1", n)
	}

	// Once linked, the stored subject decides, not the email: the same
	// upstream account with a changed address still signs in...
	b2 := e.browser()
	e.oidc.next(&mockoidc.MockUser{Subject: "entra-olivia", Email: "olivia.renamed@acme.example", EmailVerified: true})
	if r := b2.signIn("olivia@acme.example", "").result(t); r.UserID != "u-olivia" || !slices.Equal(r.AMR, []string{"fed"}) {
		t.Fatalf("sign-in by stored subject: %+v", r)
	}
	// ...and another upstream account with her address does not.
	b3 := e.browser()
	e.oidc.next(&mockoidc.MockUser{Subject: "entra-impostor", Email: "olivia@acme.example", EmailVerified: true})
	p := b3.signIn("olivia@acme.example", "")
	if p.status != http.StatusForbidden || !strings.Contains(p.message(), "is not the Gatehouse user you signed in as") {
		t.Fatalf("another subject with her email: %d %s\n%s", p.status, p.url, p.body)
	}
	if got := e.user("u-olivia").UpstreamSubject; got != "acme-oidc|entra-olivia" {
		t.Fatalf("upstream subject changed to %q", got)
	}
}

func TestOIDCNoSecondFactorForCoManagingUser(t *testing.T) {
	e := newEnv(t)

	// The second-factor steps are registered: a co-managing user who signs
	// in with a password must enrol a factor.
	b := e.browser()
	p := b.signIn("cora@customer.example", goodPassword)
	if p.url.Path != "/login/mfa-enrol" {
		t.Fatalf("a co-managing user with a password: expected the enrolment page, got %d %s", p.status, p.url)
	}

	// Through the partner's connection no factor is asked.
	b = e.browser()
	e.oidc.next(&mockoidc.MockUser{Subject: "entra-carl", Email: "carl@customer.example", EmailVerified: true})
	r := b.signIn("carl@customer.example", "").result(t)
	if r.UserID != "u-carl" || !slices.Equal(r.AMR, []string{"fed"}) || r.ACR != "fed" {
		t.Fatalf("co-managing federated sign-in: %+v", r)
	}
	for _, v := range b.visits {
		if strings.HasPrefix(v.Path, "/login/mfa") {
			t.Fatalf("a federated sign-in saw a factor page: %v", b.visits)
		}
	}
}

func TestOIDCPasswordUserNeverGoesUpstream(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.signIn("paula@acme.example", goodPassword).result(t)
	if r.UserID != "u-paula" || !slices.Equal(r.AMR, []string{"pwd"}) {
		t.Fatalf("password sign-in: %+v", r)
	}
	if n := e.oidc.authorizations(); n != 0 {
		t.Fatalf("a user with sso off went upstream %d times", n)
	}
	mock, _ := url.Parse(e.oidc.m.Addr())
	if b.wentTo(mock.Host) {
		t.Fatalf("visited the upstream provider: %v", b.visits)
	}
	// Her wrong password is still refused.
	p := e.browser().signIn("paula@acme.example", "wrong")
	if p.status != http.StatusUnauthorized || e.oidc.authorizations() != 0 {
		t.Fatalf("wrong password: %d %s", p.status, p.url)
	}
}

func TestOIDCMismatchRefusedAndAudited(t *testing.T) {
	e := newEnv(t)
	before := e.user("u-olivia")
	b := e.browser()
	e.oidc.next(&mockoidc.MockUser{Subject: "entra-mallory", Email: "mallory@acme.example", EmailVerified: true})
	p := b.signIn("olivia@acme.example", "")
	if p.status != http.StatusForbidden {
		t.Fatalf("mismatch: %d %s\n%s", p.status, p.url, p.body)
	}
	want := "This account at Acme Entra (mallory@acme.example) is not the Gatehouse user you signed in as (olivia@acme.example)."
	if p.message() != want {
		t.Fatalf("mismatch page says %q", p.message())
	}
	after := e.user("u-olivia")
	if after.UpstreamSubject != "" || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("user changed: %+v", after)
	}
	evs := e.audit("acme", "federation.mismatch")
	if len(evs) != 1 || evs[0].Target != "u-olivia" || evs[0].Details["upstream_email"] != "mallory@acme.example" || evs[0].Details["reason"] != "different_account" {
		t.Fatalf("audit: %+v", evs)
	}

	// The flow lives: "Try again" goes upstream afresh (prompt=login),
	// and the right account gets in.
	retry := p.link("federation-retry")
	if retry == "" {
		t.Fatalf("no retry link:\n%s", p.body)
	}
	e.oidc.next(oliviaUpstream())
	r := b.get(retry).result(t)
	if r.UserID != "u-olivia" || !slices.Equal(r.AMR, []string{"fed"}) {
		t.Fatalf("retry: %+v", r)
	}
	if e.oidc.lastAuth.Get("prompt") != "login" {
		t.Fatalf("the retry did not ask the provider to authenticate again: %v", e.oidc.lastAuth)
	}
}

func TestOIDCUnverifiedEmailRefused(t *testing.T) {
	for _, v := range []any{false, "false"} {
		e := newEnv(t)
		e.oidc.next(verifiedUser{MockUser: oliviaUpstream(), verified: v})
		p := e.browser().signIn("olivia@acme.example", "")
		if p.status != http.StatusForbidden || !strings.Contains(p.message(), "has not verified the email address") {
			t.Fatalf("email_verified %v: %d %s", v, p.status, p.message())
		}
		evs := e.audit("acme", "federation.mismatch")
		if len(evs) != 1 || evs[0].Details["reason"] != "email_not_verified" || e.user("u-olivia").UpstreamSubject != "" {
			t.Fatalf("email_verified %v: audit %+v", v, evs)
		}
	}
	// Sent as the string "true", it counts.
	e := newEnv(t)
	e.oidc.next(verifiedUser{MockUser: oliviaUpstream(), verified: "true"})
	if r := e.browser().signIn("olivia@acme.example", "").result(t); r.UserID != "u-olivia" {
		t.Fatalf("email_verified \"true\": %+v", r)
	}
}

func TestOIDCAccessDeniedClearPageAndRestart(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.oidc.denyNext("access_denied")
	p := b.signIn("olivia@acme.example", "")
	if p.status != http.StatusForbidden || p.url.Path != "/federation/acme-oidc/callback" {
		t.Fatalf("access_denied: %d %s\n%s", p.status, p.url, p.body)
	}
	if !strings.Contains(p.message(), "Acme Entra did not sign you in") || !strings.Contains(p.body, "Try again") {
		t.Fatalf("access_denied page:\n%s", p.body)
	}
	// Nothing is audited: a user saying no is no attack.
	if evs := e.audit("acme", "federation.rejected"); len(evs) != 0 {
		t.Fatalf("audited: %+v", evs)
	}

	// Cancel: the relying party hears access_denied.
	r := b.submit(p, nil).result(t)
	if r.Error != "access_denied" || r.UserID != "u-olivia" || len(r.AMR) != 0 {
		t.Fatalf("cancel: %+v", r)
	}
}

func TestOIDCUpstreamErrorThenRetry(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.oidc.denyNext("temporarily_unavailable")
	p := b.signIn("olivia@acme.example", "")
	if p.status != http.StatusBadGateway || !strings.Contains(p.message(), `"temporarily_unavailable"`) {
		t.Fatalf("upstream error: %d %s", p.status, p.message())
	}
	e.oidc.next(oliviaUpstream())
	if r := b.get(p.link("federation-retry")).result(t); r.UserID != "u-olivia" || !slices.Equal(r.AMR, []string{"fed"}) {
		t.Fatalf("retry: %+v", r)
	}
}

// flipSignature flips one bit of a JWS signature.
func flipSignature(tok string) string {
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)/2] ^= 0x01
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

// resign re-signs an ID token with the provider's own key after changing
// its claims: a token the provider could have issued, to someone else.
func (u *oidcUpstream) resign(tok string, change func(jwt.MapClaims)) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims jwt.MapClaims
	_ = json.Unmarshal(payload, &claims)
	change(claims)
	out, err := u.m.Keypair.SignJWT(claims)
	if err != nil {
		panic(err)
	}
	return out
}

func TestOIDCForgedTokensRefusedAndAudited(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(u *oidcUpstream, tok string) string
		reason string
	}{
		{"signature bit flipped", func(_ *oidcUpstream, tok string) string { return flipSignature(tok) }, "bad_signature"},
		{"wrong audience", func(u *oidcUpstream, tok string) string {
			return u.resign(tok, func(c jwt.MapClaims) { c["aud"] = "another-client" })
		}, "wrong_audience"},
		{"wrong issuer", func(u *oidcUpstream, tok string) string {
			return u.resign(tok, func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })
		}, "wrong_issuer"},
		{"wrong nonce", func(u *oidcUpstream, tok string) string {
			return u.resign(tok, func(c jwt.MapClaims) { c["nonce"] = "a-nonce-from-another-sign-in" })
		}, "wrong_nonce"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.oidc.next(oliviaUpstream())
			e.oidc.tamperNext(func(m map[string]any) { m["id_token"] = tc.tamper(e.oidc, m["id_token"].(string)) })
			p := e.browser().signIn("olivia@acme.example", "")
			if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "could not be trusted") {
				t.Fatalf("%d %s: %s", p.status, p.url, p.body)
			}
			evs := e.audit("acme", "federation.rejected")
			if len(evs) != 1 || evs[0].Details["reason"] != tc.reason || evs[0].Target != "u-olivia" {
				t.Fatalf("audit: %+v", evs)
			}
			if u := e.user("u-olivia"); u.UpstreamSubject != "" {
				t.Fatalf("user changed: %+v", u)
			}
		})
	}
}

func TestOIDCReplayedCallbackRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.oidc.next(oliviaUpstream())
	if r := b.signIn("olivia@acme.example", "").result(t); r.UserID != "u-olivia" {
		t.Fatalf("first sign-in: %+v", r)
	}
	var callback string
	for _, v := range b.visits {
		if v.Path == "/federation/acme-oidc/callback" {
			callback = v.String()
		}
	}
	if callback == "" {
		t.Fatalf("no callback among %v", b.visits)
	}
	for _, who := range []*browser{b, e.browser()} {
		p := who.get(callback)
		if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "already used") {
			t.Fatalf("replayed callback: %d %s", p.status, p.message())
		}
	}
	if evs := e.audit("acme", "federation.replay"); len(evs) != 2 {
		t.Fatalf("%d federation.replay events, want 2", len(evs))
	}
}

func TestOIDCStaleOrUnknownState(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	// A state Gatehouse never issued.
	p := b.get("/federation/acme-oidc/callback?code=abc&state=" + strings.Repeat("x", 32))
	if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "no sign-in waiting") || p.link("federation-start") == "" {
		t.Fatalf("unknown state: %d %s\n%s", p.status, p.message(), p.body)
	}
	// No state at all.
	if p := b.get("/federation/acme-oidc/callback?code=abc"); p.status != http.StatusBadRequest {
		t.Fatalf("no state: %d", p.status)
	}

	// A state that expired while the browser was upstream.
	e.oidc.next(oliviaUpstream())
	callback := b.stopAtCallback("olivia@acme.example")
	e.clock.Advance(11 * time.Minute)
	p = b.get(callback)
	if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "no sign-in waiting") {
		t.Fatalf("expired state: %d %s", p.status, p.message())
	}
	if u := e.user("u-olivia"); u.UpstreamSubject != "" {
		t.Fatalf("user changed: %+v", u)
	}
}

// stopAtCallback signs in and stops where the provider sends the browser
// back, returning that URL unvisited.
func (b *browser) stopAtCallback(username string) string {
	b.t.Helper()
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		b.visits = append(b.visits, req.URL)
		if strings.HasPrefix(req.URL.Path, "/federation/") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	defer func() {
		b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			b.visits = append(b.visits, req.URL)
			return nil
		}
	}()
	b.signIn(username, "")
	last := b.visits[len(b.visits)-1]
	if !strings.HasSuffix(last.Path, "/callback") {
		b.t.Fatalf("expected to stop at the callback, got %v", b.visits)
	}
	return last.String()
}

func TestOIDCCallbackFromAnotherBrowser(t *testing.T) {
	e := newEnv(t)
	e.oidc.next(oliviaUpstream())
	callback := e.browser().stopAtCallback("olivia@acme.example")
	// An attacker's browser brings the victim's callback: refused.
	p := e.browser().get(callback)
	if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "started in another browser") {
		t.Fatalf("callback in another browser: %d %s", p.status, p.message())
	}
	if u := e.user("u-olivia"); u.UpstreamSubject != "" {
		t.Fatalf("user changed: %+v", u)
	}
}

func TestOIDCDiscoveryFailureClearPage(t *testing.T) {
	e := newEnv(t)
	_ = e.oidc.m.Shutdown()
	p := e.browser().signIn("olivia@acme.example", "")
	if p.status != http.StatusBadGateway || !strings.Contains(p.message(), "Gatehouse cannot reach Acme Entra") || p.link("federation-retry") == "" {
		t.Fatalf("discovery failure: %d %s\n%s", p.status, p.url, p.body)
	}
}

func TestOIDCTokenEndpointTimeout(t *testing.T) {
	e := newEnvWith(t, options{timeout: 300 * time.Millisecond})
	e.oidc.next(oliviaUpstream())
	e.oidc.mu.Lock()
	e.oidc.delay = 2 * time.Second
	e.oidc.mu.Unlock()
	b := e.browser()
	p := b.signIn("olivia@acme.example", "")
	if p.status != http.StatusGatewayTimeout || !strings.Contains(p.message(), "Acme Entra did not answer in time") {
		t.Fatalf("timeout: %d %s\n%s", p.status, p.message(), p.body)
	}
	// The flow lives on: try again.
	e.oidc.next(oliviaUpstream())
	if r := b.get(p.link("federation-retry")).result(t); r.UserID != "u-olivia" {
		t.Fatalf("retry: %+v", r)
	}
}

func TestUpstreamOnPrivateAddressRefused(t *testing.T) {
	e := newEnv(t)
	f, err := federation.New(federation.Config{
		Issuer: e.srv.URL, Store: e.store, Ephemeral: e.eph, Login: e.svc, Box: e.box, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.Test(context.Background(), "acme-oidc")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := find(rep, "discovery")
	if rep.OK || c.OK || !strings.Contains(c.Detail, "loopback, private or link-local address") {
		t.Fatalf("private upstream: %+v", rep)
	}
}

func TestOIDCFreshSignInAskedUpstream(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.oidc.next(oliviaUpstream())
	b.signIn("olivia@acme.example", "").result(t)
	if e.oidc.lastAuth.Has("prompt") {
		t.Fatalf("an ordinary sign-in asked for prompt: %v", e.oidc.lastAuth)
	}
	// The relying party demands a fresh sign-in: so does Gatehouse upstream.
	e.oidc.next(oliviaUpstream())
	p := b.get("/test/begin?force")
	r := b.submit(p, map[string]string{"username": "olivia@acme.example"}).result(t)
	if r.UserID != "u-olivia" || e.oidc.lastAuth.Get("prompt") != "login" {
		t.Fatalf("forced sign-in: %+v, upstream asked %v", r, e.oidc.lastAuth)
	}
}
