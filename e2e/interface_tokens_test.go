package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// INTERFACE.md section 7, OpenID Connect: what tokens carry, discovery,
// PKCE, logout, refresh rotation, introspection and revocation.

// ifBCReceiver is a relying party's back-channel logout endpoint.
type ifBCReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens []string
	got    chan struct{}
}

func ifNewBCReceiver(t testing.TB) *ifBCReceiver {
	bc := &ifBCReceiver{got: make(chan struct{}, 16)}
	bc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		bc.mu.Lock()
		bc.tokens = append(bc.tokens, r.PostForm.Get("logout_token"))
		bc.mu.Unlock()
		bc.got <- struct{}{}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(bc.srv.Close)
	return bc
}

func TestInterfaceTokens(t *testing.T) {
	t.Parallel()
	bc := ifNewBCReceiver(t)
	n := ifStart(t, ifNodeOptions{Seed: ifSeedOptions{BackchannelURI: bc.srv.URL + "/backchannel"}})
	ctx := context.Background()

	var disc map[string]any
	ifGetJSON(t, n.URL+"/.well-known/openid-configuration", &disc)

	t.Run("discovery", func(t *testing.T) {
		t.Parallel()
		if disc["backchannel_logout_supported"] != true || disc["backchannel_logout_session_supported"] != true {
			t.Errorf("backchannel flags: %v %v", disc["backchannel_logout_supported"], disc["backchannel_logout_session_supported"])
		}
		algs := ifStrs(disc["id_token_signing_alg_values_supported"])
		if len(algs) == 0 || algs[0] != "RS256" || !slices.Contains(algs, "ES256") {
			t.Errorf("id_token_signing_alg_values_supported %v: want RS256 first, and ES256", algs)
		}
		if !slices.Contains(ifStrs(disc["code_challenge_methods_supported"]), "S256") {
			t.Errorf("code_challenge_methods_supported %v", disc["code_challenge_methods_supported"])
		}
		for _, c := range []string{"name", "given_name", "family_name", "locale", "zoneinfo", "updated_at", "email",
			"email_verified", "phone_number", "phone_number_verified", "roles", "partner_id", "user_kind", "org_ids",
			"sid", "auth_time", "amr", "acr"} {
			if !slices.Contains(ifStrs(disc["claims_supported"]), c) {
				t.Errorf("claims_supported lacks %s", c)
			}
		}
		for _, s := range []string{"openid", "profile", "email", "phone", "roles", "offline_access", "admin"} {
			if !slices.Contains(ifStrs(disc["scopes_supported"]), s) {
				t.Errorf("scopes_supported lacks %s", s)
			}
		}
	})

	t.Run("claims by scope", func(t *testing.T) {
		t.Parallel()
		// openid alone: who and how, nothing about the person.
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		tok := ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifOwner, Pass: ifOwnerPass})
		_, id := ifJWT(t, tok.Extra("id_token").(string))
		for _, k := range []string{"sub", "sid", "auth_time", "amr", "iss", "aud", "exp", "iat"} {
			if _, ok := id[k]; !ok {
				t.Errorf("ID token lacks %s: %v", k, id)
			}
		}
		for _, k := range []string{"email", "name", "roles", "phone_number"} {
			if _, ok := id[k]; ok {
				t.Errorf("ID token for scope openid carries %s", k)
			}
		}
		if !slices.Equal(ifStrs(id["amr"]), []string{"pwd"}) || id["acr"] != "pwd" {
			t.Errorf("password sign-in: amr %v acr %v, want [pwd] and pwd", id["amr"], id["acr"])
		}
		ui := ifUserinfo(t, n.URL, tok.AccessToken, http.MethodGet)
		for _, k := range []string{"email", "name", "roles"} {
			if _, ok := ui[k]; ok {
				t.Errorf("UserInfo for scope openid carries %s", k)
			}
		}

		// Every scope: the claims each grants, at UserInfo by GET and POST.
		r = newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "profile", "email", "phone", "roles", "offline_access")
		tok = ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifOwner, Pass: ifOwnerPass})
		if tok.RefreshToken == "" {
			t.Errorf("offline_access gave no refresh token")
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			ui := ifUserinfo(t, n.URL, tok.AccessToken, method)
			for _, k := range []string{"sub", "name", "given_name", "family_name", "locale", "zoneinfo", "updated_at",
				"email", "email_verified", "phone_number", "phone_number_verified", "roles", "partner_id", "user_kind"} {
				if _, ok := ui[k]; !ok {
					t.Errorf("UserInfo (%s) lacks %s: %v", method, k, ui)
				}
			}
			if ui["name"] != "Olivia Owner" || ui["given_name"] != "Olivia" || ui["family_name"] != "Owner" ||
				ui["email"] != ifOwner || ui["phone_number"] != "+15555550100" || ui["partner_id"] != "acme" ||
				ui["user_kind"] != "employee" || !slices.Equal(ifStrs(ui["roles"]), []string{"owner"}) {
				t.Errorf("UserInfo (%s): %v", method, ui)
			}
			if _, ok := ui["org_ids"]; ok {
				t.Errorf("an employee has org_ids: %v", ui)
			}
		}
		// The access token: RFC 9068, with the role claims.
		h, at := ifJWT(t, tok.AccessToken)
		if typ, _ := h["typ"].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
			t.Errorf("access token typ %q, want at+jwt", typ)
		}
		for _, k := range []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"} {
			if _, ok := at[k]; !ok {
				t.Errorf("access token lacks %s (RFC 9068): %v", k, at)
			}
		}
		if !slices.Equal(ifStrs(at["roles"]), []string{"owner"}) || at["partner_id"] != "acme" || at["user_kind"] != "employee" {
			t.Errorf("access token role claims: %v", at)
		}
		_, id = ifJWT(t, tok.Extra("id_token").(string))
		if !slices.Equal(ifStrs(id["roles"]), []string{"owner"}) || id["partner_id"] != "acme" {
			t.Errorf("ID token role claims: %v", id)
		}

		// A client user carries org_ids.
		tok = ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifClient, Pass: ifClientPass})
		_, at = ifJWT(t, tok.AccessToken)
		if !slices.Equal(ifStrs(at["org_ids"]), []string{"globex"}) || at["user_kind"] != "client" {
			t.Errorf("client user's claims: %v", at)
		}
	})

	t.Run("second factor amr and acr", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "roles")
		// A co-managing user must use a second factor; they sign in as
		// username@domain.
		tok := ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifCoManLogin, Pass: ifCoManPass, TOTP: ifTOTPSecret})
		_, id := ifJWT(t, tok.Extra("id_token").(string))
		amr := ifStrs(id["amr"])
		if !slices.Contains(amr, "pwd") || !slices.Contains(amr, "otp") || !slices.Contains(amr, "mfa") || id["acr"] != "mfa" {
			t.Errorf("password and TOTP: amr %v acr %v", amr, id["acr"])
		}
		if !slices.Equal(ifStrs(id["org_ids"]), []string{"globex"}) || id["user_kind"] != "co_managing" {
			t.Errorf("co-managing user's claims %v", id)
		}
	})

	t.Run("acr_values=mfa", func(t *testing.T) {
		t.Parallel()
		// No factor is required of a tech; asking for mfa leads to
		// enrolment all the same.
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		b := newBrowser(t, n.URL)
		p := b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("acr_values", "mfa")))
		p = b.signIn(p, ifTech, ifTechPass)
		if p.Location != nil {
			t.Fatalf("acr_values=mfa let a password alone through: %s", p.Location)
		}
		if !p.hasField("code") || !strings.Contains(p.Body, "otpauth://totp/") {
			t.Fatalf("acr_values=mfa without an enrolled factor: no TOTP enrolment (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
	})

	t.Run("PKCE", func(t *testing.T) {
		t.Parallel()
		// A public client must use PKCE.
		pub := newRP(t, n.URL, ifPortalID, "", ifPortalRedir, "email")
		b := newBrowser(t, n.URL)
		p := b.get(pub.conf.AuthCodeURL("state-e2e-0123456789"))
		if p.Location == nil || p.Location.Query().Get("error") == "" {
			if p.Status < 400 {
				t.Errorf("a public client without PKCE was not refused (%d at %s)", p.Status, p.URL)
			}
		}
		// S256 only: plain is refused.
		p = b.get(pub.conf.AuthCodeURL("state-e2e-0123456789", oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")))
		if (p.Location == nil || p.Location.Query().Get("error") == "") && p.Status < 400 {
			t.Errorf("a public client with plain PKCE was not refused (%d at %s)", p.Status, p.URL)
		}
		tok := ifCode(t, pub, newBrowser(t, n.URL), ifSteps{User: ifTech, Pass: ifTechPass})
		if tok.AccessToken == "" {
			t.Fatal("no token for a public client with PKCE")
		}
		// A confidential client may do without.
		conf := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		b = newBrowser(t, n.URL)
		p = ifFlow(t, b, b.get(conf.conf.AuthCodeURL("state-e2e-0123456789")), ifSteps{User: ifTech, Pass: ifTechPass})
		if p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Fatalf("confidential client without PKCE: %v", p.Location)
		}
		if _, err := conf.conf.Exchange(ctx, p.Location.Query().Get("code")); err != nil {
			t.Fatalf("confidential client without PKCE: %v", err)
		}
	})

	t.Run("refresh rotation and family revocation", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "offline_access")
		tok := ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifFinance, Pass: ifFinancePass})
		first := tok.RefreshToken
		next, err := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: first}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if next.RefreshToken == "" || next.RefreshToken == first {
			t.Fatalf("the refresh token did not rotate")
		}
		if _, err := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: first}).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("a used refresh token: %v, want invalid_grant", err)
		}
		// Its whole family is gone.
		if _, err := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); err == nil {
			t.Fatalf("the rotated refresh token still works after its parent was replayed")
		}
		for _, tk := range []string{tok.AccessToken, next.AccessToken, next.RefreshToken} {
			if ifIntrospect(t, n.URL, ifAcademyID, ifAcademySec, tk)["active"] != false {
				t.Errorf("a token of a revoked family is active")
			}
		}
	})

	t.Run("introspection and revocation", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "offline_access")
		tok := ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifAdmin, Pass: ifAdminPass})
		// Any confidential client may introspect access and refresh tokens.
		for _, tk := range []string{tok.AccessToken, tok.RefreshToken} {
			res := ifIntrospect(t, n.URL, ifAcademyID, ifAcademySec, tk)
			if res["active"] != true || res["client_id"] != ifConsoleID {
				t.Errorf("introspection by another confidential client: %v", res)
			}
		}
		// A public client may not.
		form := url.Values{"token": {tok.AccessToken}, "client_id": {ifPortalID}}
		if resp := ifPostForm(t, n.URL+"/oauth2/introspect", form, "", ""); resp.status == http.StatusOK && resp.json["active"] == true {
			t.Errorf("a public client introspected a token")
		}
		// Only the client a token was issued to revokes it.
		ifPostForm(t, n.URL+"/oauth2/revoke", url.Values{"token": {tok.RefreshToken}}, ifAcademyID, ifAcademySec)
		if ifIntrospect(t, n.URL, ifAcademyID, ifAcademySec, tok.RefreshToken)["active"] != true {
			t.Fatalf("another client revoked the token")
		}
		if resp := ifPostForm(t, n.URL+"/oauth2/revoke", url.Values{"token": {tok.RefreshToken}}, ifConsoleID, ifConsoleSec); resp.status != http.StatusOK {
			t.Fatalf("revocation by the owner: %d %s", resp.status, resp.body)
		}
		if ifIntrospect(t, n.URL, ifAcademyID, ifAcademySec, tok.RefreshToken)["active"] != false {
			t.Fatalf("the owner's revocation did not take")
		}
		ifPostForm(t, n.URL+"/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, ifConsoleID, ifConsoleSec)
		if ifIntrospect(t, n.URL, ifAcademyID, ifAcademySec, tok.AccessToken)["active"] != false {
			t.Fatalf("a revoked access token is active")
		}
	})

	t.Run("ES256 ID tokens per client", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, n.URL, ifESID, ifESSec, "http://localhost:9102/callback", "email")
		r.verifier = r.provider.Verifier(&oidc.Config{ClientID: ifESID, SupportedSigningAlgs: []string{"ES256"}})
		_, tok := r.login(newBrowser(t, n.URL), ifTech, ifTechPass)
		h, _ := ifJWT(t, tok.Extra("id_token").(string))
		if h["alg"] != "ES256" {
			t.Errorf("ID token alg %v, want ES256", h["alg"])
		}
		// Others get RS256 by default.
		tok = ifCode(t, newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir), newBrowser(t, n.URL), ifSteps{User: ifTech, Pass: ifTechPass})
		if h, _ := ifJWT(t, tok.Extra("id_token").(string)); h["alg"] != "RS256" {
			t.Errorf("default ID token alg %v, want RS256", h["alg"])
		}
	})

	t.Run("allowed_roles", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, n.URL, ifOwnersOnlyID, ifOwnersSec, "http://localhost:9103/callback", "roles")
		b := newBrowser(t, n.URL)
		p := ifFlow(t, b, b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
			ifSteps{User: ifTech, Pass: ifTechPass})
		if p.Location == nil || p.Location.Query().Get("error") != "access_denied" {
			t.Fatalf("a tech at an owners-only service: want error=access_denied, got %v (%d at %s)", p.Location, p.Status, p.URL)
		}
		if p.Location.Query().Get("state") != "state-e2e-0123456789" {
			t.Errorf("the refusal lost the state: %s", p.Location)
		}
		ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifOwner, Pass: ifOwnerPass})
	})

	t.Run("consent", func(t *testing.T) {
		t.Parallel()
		r := newRP(t, n.URL, ifAcademyID, ifAcademySec, ifAcademyRedir, "email")
		r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		b := newBrowser(t, n.URL)
		p := b.signIn(b.get(r.conf.AuthCodeURL("state-e2e-0123456789")), ifTech, ifTechPass)
		if !p.hasField("consent") {
			t.Fatalf("no consent page for a client that is not first_party (%d at %s):\n%s", p.Status, p.URL, p.Body)
		}
		p = b.submit(p, "consent", map[string]string{"consent": "deny"})
		if p.Location == nil || p.Location.Query().Get("error") != "access_denied" {
			t.Fatalf("consent=deny: %v", p.Location)
		}
		tok := ifCode(t, r, b, ifSteps{User: ifTech, Pass: ifTechPass, Consent: "allow"})
		if tok.AccessToken == "" {
			t.Fatal("consent=allow gave no token")
		}
	})

	t.Run("logout", func(t *testing.T) {
		// Not parallel with the rest: it reads every back-channel token.
		r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir)
		b := newBrowser(t, n.URL)
		tok := ifCode(t, r, b, ifSteps{User: ifFinance, Pass: ifFinancePass})
		raw := tok.Extra("id_token").(string)
		_, id := ifJWT(t, raw)

		// Without id_token_hint or client_id the post_logout_redirect_uri
		// is not followed; the user is signed out and told so here.
		p := b.get(n.URL + "/oauth2/logout?post_logout_redirect_uri=" + url.QueryEscape("http://localhost:9100/"))
		if p.Location != nil || p.Status != http.StatusOK {
			t.Fatalf("an untied logout: %d, redirect %v", p.Status, p.Location)
		}
		bc.wait(t)
		p = b.get(r.conf.AuthCodeURL("state-e2e-0123456789", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if !p.hasField("password") {
			t.Fatalf("still signed in after logout")
		}
		bc.mu.Lock()
		lt := bc.tokens[len(bc.tokens)-1]
		bc.mu.Unlock()
		h, c := ifJWT(t, lt)
		if h["typ"] != "logout+jwt" {
			t.Errorf("logout token typ %v, want logout+jwt", h["typ"])
		}
		for _, k := range []string{"iss", "aud", "iat", "jti", "events", "sid", "sub"} {
			if _, ok := c[k]; !ok {
				t.Errorf("logout token lacks %s: %v", k, c)
			}
		}
		if c["sid"] != id["sid"] || c["sub"] != id["sub"] || c["iss"] != n.URL {
			t.Errorf("logout token %v for ID token %v", c, id)
		}
		if ev, _ := c["events"].(map[string]any); ev == nil || ev["http://schemas.openid.net/event/backchannel-logout"] == nil {
			t.Errorf("logout token events %v", c["events"])
		}
		if _, ok := c["nonce"]; ok {
			t.Errorf("a logout token must not carry a nonce")
		}
		ks := oidc.NewRemoteKeySet(ctx, n.URL+"/.well-known/jwks.json")
		if _, err := ks.VerifySignature(ctx, lt); err != nil {
			t.Errorf("logout token signature: %v", err)
		}

		// With id_token_hint the browser goes back to the registered URI.
		tok = ifCode(t, r, b, ifSteps{User: ifFinance, Pass: ifFinancePass})
		p = b.get(n.URL + "/oauth2/logout?state=bye&post_logout_redirect_uri=" + url.QueryEscape("http://localhost:9100/") +
			"&id_token_hint=" + tok.Extra("id_token").(string))
		if p.Location == nil || p.Location.Host != "localhost:9100" || p.Location.Query().Get("state") != "bye" {
			t.Fatalf("a tied logout: %d, redirect %v", p.Status, p.Location)
		}
		_ = raw

		// client_id ties the request too.
		ifCode(t, r, b, ifSteps{User: ifFinance, Pass: ifFinancePass})
		p = b.get(n.URL + "/oauth2/logout?client_id=" + ifConsoleID + "&post_logout_redirect_uri=" + url.QueryEscape("http://localhost:9100/"))
		if p.Location == nil || p.Location.Host != "localhost:9100" {
			t.Fatalf("a logout tied by client_id: %d, redirect %v", p.Status, p.Location)
		}
	})
}

// wait waits for the next logout token.
func (bc *ifBCReceiver) wait(t testing.TB) {
	t.Helper()
	select {
	case <-bc.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout token within 10s")
	}
}

func ifUserinfo(t testing.TB, issuer, token, method string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("UserInfo %s: %d %s", method, resp.StatusCode, b)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("UserInfo %s: %v: %s", method, err, b)
	}
	return m
}

type ifFormAnswer struct {
	status int
	body   []byte
	json   map[string]any
}

// ifPostForm posts a form, with client authentication when id is given:
// the academy client uses client_secret_post, as registered; the others
// HTTP Basic.
func ifPostForm(t testing.TB, u string, form url.Values, id, secret string) ifFormAnswer {
	t.Helper()
	if id == ifAcademyID {
		form = ifCloneValues(form)
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" && id != ifAcademyID {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := ifFormAnswer{status: resp.StatusCode}
	a.body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(a.body, &a.json)
	return a
}

func ifIntrospect(t testing.TB, issuer, id, secret, token string) map[string]any {
	t.Helper()
	a := ifPostForm(t, issuer+"/oauth2/introspect", url.Values{"token": {token}}, id, secret)
	if a.status != http.StatusOK {
		t.Fatalf("introspection: %d %s", a.status, a.body)
	}
	return a.json
}

func ifCloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
