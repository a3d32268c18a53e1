package mfa_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gatehouse/storage"
)

const rpID = "gatehouse.test"

// registerPasskey registers a's credential for the browser's user from the
// account security page, as webauthn.js does, and returns the page the
// registration answered with.
func (b *browser) registerPasskey(a *authenticator, name string) page {
	b.t.Helper()
	p := b.get("/account/security")
	if !p.is("/account/security", http.StatusOK) || !strings.Contains(p.body, `data-options-url="/account/security/webauthn/options"`) {
		b.t.Fatalf("security page: %d %s", p.status, p.url)
	}
	csrf := hiddenValue(b.t, p, "csrf_token")
	opts := b.post("/account/security/webauthn/options", url.Values{"csrf_token": {csrf}})
	if opts.status != http.StatusOK || opts.header.Get("Content-Type") != "application/json" {
		b.t.Fatalf("options: %d %s", opts.status, opts.body)
	}
	return b.submit(p, map[string]string{"name": name, "webauthn": a.create([]byte(opts.body))}, "/account/security/webauthn")
}

func hiddenValue(t testing.TB, p page, name string) string {
	t.Helper()
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		if h[1] == name {
			return h[2]
		}
	}
	t.Fatalf("no hidden %s on the page", name)
	return ""
}

func TestPasskeyRegisteredFromAccountThenUsed(t *testing.T) {
	e := newEnv(t, options{})
	key := newAuthenticator(t, rpID, issuer)

	b := e.browser()
	b.signIn("", "alice@acme.example").result(t)
	// The options endpoint wants the CSRF token.
	if p := b.post("/account/security/webauthn/options", url.Values{}); p.status != http.StatusForbidden || !strings.Contains(p.body, `"error":"csrf"`) {
		t.Fatalf("options without csrf_token: %d %s", p.status, p.body)
	}
	p := b.registerPasskey(key, "Laptop")
	recoveryCodes(t, p) // the first factor comes with recovery codes
	fs := e.factors("u-alice", storage.FactorWebAuthn)
	if len(fs) != 1 || fs[0].Name != "Laptop" || !bytes.Contains(fs[0].Secret, []byte(`"publicKey"`)) {
		t.Fatalf("stored passkeys: %+v", fs)
	}
	// The same authenticator cannot be registered twice.
	if p := b.registerPasskey(key, "Again"); !key.excluded || p.status != http.StatusBadRequest || len(e.factors("u-alice", storage.FactorWebAuthn)) != 1 {
		t.Fatalf("second registration of one key: excluded %v, %d", key.excluded, p.status)
	}

	// Sign in with it: the second-factor page offers it.
	b2 := e.browser()
	p = b2.signIn("", "alice@acme.example")
	if !p.is(challengePath, http.StatusOK) || !strings.Contains(p.body, `id="webauthn-signin"`) {
		t.Fatalf("second-factor page: %d %s", p.status, p.url)
	}
	r := b2.submit(p, map[string]string{"webauthn": key.sign(webauthnOptions(t, p)).JSON()}).result(t)
	if !slices.Equal(r.AMR, amrPasskey) || r.ACR != "mfa" {
		t.Fatalf("passkey sign-in: %+v", r)
	}
	if f := e.factors("u-alice", storage.FactorWebAuthn)[0]; f.Counter != 1 || f.LastUsedAt.IsZero() {
		t.Fatalf("after use: counter %d, last used %v", f.Counter, f.LastUsedAt)
	}
}

func TestPasskeyResponsesThatFail(t *testing.T) {
	e := newEnv(t, options{})
	key := newAuthenticator(t, rpID, issuer)
	b := e.browser()
	b.signIn("", "alice@acme.example").result(t)
	b.registerPasskey(key, "Laptop")
	stored := func() storage.Factor { return e.factors("u-alice", storage.FactorWebAuthn)[0] }

	// One good use, so the stored counter is 1.
	b1 := e.browser()
	p := b1.signIn("", "alice@acme.example")
	b1.submit(p, map[string]string{"webauthn": key.sign(webauthnOptions(t, p)).JSON()}).result(t)
	before := stored()

	b2 := e.browser()
	p = b2.signIn("", "alice@acme.example")
	stale := webauthnOptions(t, p)
	challenge := func(opts []byte) string {
		var o publicKeyOptions
		_ = json.Unmarshal(opts, &o)
		return o.PublicKey.Challenge
	}
	bad := map[string]func(opts []byte) assertion{
		"bad signature": func(opts []byte) assertion {
			s := key.sign(opts)
			s.signature[len(s.signature)-1] ^= 1
			return s
		},
		"counter not increased": func(opts []byte) assertion {
			return key.signWith(challenge(opts), 1, flagUP|flagUV)
		},
		"no user verification": func(opts []byte) assertion {
			return key.signWith(challenge(opts), 50, flagUP)
		},
		"other origin": func(opts []byte) assertion {
			evil := *key
			evil.origin = "http://evil.test"
			return evil.signWith(challenge(opts), 51, flagUP|flagUV)
		},
		"spent challenge": func([]byte) assertion {
			return key.signWith(challenge(stale), 52, flagUP|flagUV)
		},
		"another key": func(opts []byte) assertion {
			other := newAuthenticator(t, rpID, issuer)
			other.user = key.user
			return other.signWith(challenge(opts), 53, flagUP|flagUV)
		},
	}
	// In a fixed order: "spent challenge" needs stale to have been replaced
	// by a later page, which it is not before the first submission.
	for _, name := range slices.Sorted(maps.Keys(bad)) {
		make := bad[name]
		opts := webauthnOptions(t, p)
		p = b2.submit(p, map[string]string{"webauthn": make(opts).JSON()})
		if p.status != http.StatusUnauthorized || p.errorText() != textBadKey {
			t.Fatalf("%s: %d %q", name, p.status, p.errorText())
		}
		if after := stored(); after.Counter != before.Counter || !bytes.Equal(after.Secret, before.Secret) {
			t.Fatalf("%s changed the stored credential", name)
		}
	}
	p = b2.submit(p, map[string]string{"webauthn": "{not json"})
	if p.status != http.StatusUnauthorized || p.errorText() != textBadKey {
		t.Fatalf("garbage: %d %q", p.status, p.errorText())
	}
	if n := e.failuresFor("u-alice"); n != 0 {
		t.Fatalf("failed WebAuthn responses counted %d times toward the lockout", n)
	}
	// And the page still works.
	key.count = 100
	if r := b2.submit(p, map[string]string{"webauthn": key.sign(webauthnOptions(t, p)).JSON()}).result(t); !slices.Equal(r.AMR, amrPasskey) {
		t.Fatalf("after failures: %+v", r)
	}
}

func TestPasskeyAtEnrolment(t *testing.T) {
	e := newEnv(t, options{})
	key := newAuthenticator(t, rpID, issuer)
	b := e.browser()
	p := b.signIn("", "carol@acme.example")
	if !p.is(enrolPath, http.StatusOK) || !strings.Contains(p.body, `id="webauthn-register"`) {
		t.Fatalf("enrolment page: %d %s", p.status, p.url)
	}
	// A bad registration changes nothing.
	p = b.submit(p, map[string]string{"webauthn": `{"id":"x"}`, "name": "Phone"})
	if p.status != http.StatusBadRequest || len(e.factors("u-carol", "")) != 0 {
		t.Fatalf("bad registration: %d", p.status)
	}
	p = b.submit(p, map[string]string{"webauthn": key.create(webauthnOptions(t, p)), "name": "Phone"})
	recoveryCodes(t, p)
	if r := b.submit(p, nil).result(t); !slices.Equal(r.AMR, amrPasskey) || r.ACR != "mfa" {
		t.Fatalf("after passkey enrolment: %+v", r)
	}
	if fs := e.factors("u-carol", storage.FactorWebAuthn); len(fs) != 1 || fs[0].Name != "Phone" {
		t.Fatalf("stored: %+v", fs)
	}
	b2 := e.browser()
	p = b2.signIn("", "carol@acme.example")
	if r := b2.submit(p, map[string]string{"webauthn": key.sign(webauthnOptions(t, p)).JSON()}).result(t); !slices.Equal(r.AMR, amrPasskey) {
		t.Fatalf("passkey sign-in: %+v", r)
	}
}

// An issuer on an IP address cannot have passkeys; codes still work.
func TestPasskeysOffOnAnAddress(t *testing.T) {
	e := newEnv(t, options{issuer: "http://127.0.0.1:8080"})
	b := e.browser()
	p := b.signIn("", "carol@acme.example")
	if !p.is(enrolPath, http.StatusOK) || strings.Contains(p.body, "webauthn-register") {
		t.Fatalf("enrolment page: %d %s", p.status, p.url)
	}
	p = b.submit(p, map[string]string{"code": e.code(totpSecret(t, p))})
	b.submit(p, nil).result(t)
	p = b.get("/account/security")
	if !strings.Contains(p.body, "Passkeys are not available") || strings.Contains(p.body, "webauthn-register") {
		t.Fatal("the security page offers passkeys")
	}
	if got := b.post("/account/security/webauthn/options", url.Values{"csrf_token": {hiddenValue(t, p, "csrf_token")}}); got.status != http.StatusNotFound {
		t.Fatalf("options: %d", got.status)
	}
}
