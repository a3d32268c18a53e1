package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"
)

// INTERFACE.md section 3: the seed file.

// ifExampleSeed is section 3's example as written, but for the service
// provider's metadata, which must be real.
const ifExampleSeed = `partners:
  - id: acme                       # [a-z0-9-], unique
    name: Acme MSP
    domain: acme.example           # co-managing users sign in as <username>@<domain>
    primary_email: owner@acme.example
    require_mfa: false             # true: every user of this partner must use a second factor
organizations:                     # the partner's customer companies
  - id: globex
    partner: acme
    name: Globex Corp
    co_management: true
    saas_account: SP-1234          # the linked SaaS backup account; absent = unmapped
users:
  - email: olivia@acme.example
    partner: acme
    kind: employee                 # employee | client | org_user | co_managing
    role: owner                    # a role name from the role catalogue (section 6)
    name: Olivia Owner
    password: "correct horse battery staple"   # plaintext, for seeds only; or password_hash (PHC string)
    phone: "+15555550100"
    username: jdoe                 # co_managing only: [a-z0-9._-], at most 32 characters
    organization: globex           # client, org_user and co_managing users
    active: true
    sso: false                     # true: this user signs in through the partner's connection
    password_reset_disabled: false
    totp_secret: JBSWY3DPEHPK3PXP  # optional: a TOTP factor already enrolled (base32)
clients:                           # OIDC relying parties: the services that share the login
  - id: academy
    name: Academy
    secret: "academy-secret"       # absent = public client (PKCE with S256 required)
    redirect_uris: [https://academy.example/callback]
    post_logout_redirect_uris: [https://academy.example/]
    backchannel_logout_uri: https://academy.example/backchannel-logout
    grant_types: [authorization_code, refresh_token]   # also: client_credentials
    scopes: [openid, profile, email, roles, offline_access]
    token_endpoint_auth_method: client_secret_basic    # client_secret_post | private_key_jwt | none
    jwks_uri: ""                   # for private_key_jwt
    allowed_roles: []              # empty = every role may use this service
    first_party: true              # true: no consent screen
    id_token_signed_response_alg: RS256                # or ES256
saml_service_providers:
  - entity_id: https://kb.example/saml/metadata
    name: Knowledge Base
    metadata: |                    # inline SP metadata XML, or metadata_url
{{METADATA}}    allowed_roles: []
connections:                       # a partner's own upstream identity provider, for per-user SSO
  - id: acme-entra
    partner: acme
    type: oidc                     # oidc | saml
    issuer: https://login.example.com/tenant/v2.0      # oidc
    client_id: gatehouse
    client_secret: s3cret
    metadata_url: ""               # saml: the upstream IdP's metadata (or metadata: inline)
`

// ifConsoleSeed adds only the admin-scoped console client.
const ifConsoleSeed = `clients:
  - id: console
    name: Console
    secret: "` + ifConsoleSec + `"
    redirect_uris: [` + ifConsoleRedir + `]
    grant_types: [authorization_code, refresh_token, client_credentials]
    scopes: [openid, profile, email, phone, roles, offline_access, admin]
    first_party: true
`

func TestInterfaceSeedExampleAsWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sp := ifNewSAMLSP(t, "https://kb.example/saml/metadata", "https://kb.example/saml/acs")
	example := ifWriteFile(t, dir, "example.yaml",
		strings.Replace(ifExampleSeed, "{{METADATA}}", ifIndent(string(sp.metadataXML(t)), "      "), 1))
	console := ifWriteFile(t, dir, "console.yaml", ifConsoleSeed)

	out, errOut, code := ifRun(t, dir, nil, "apply", "--seed", example)
	if code != 0 {
		t.Fatalf("apply of the example: exit %d: %s%s", code, out, errOut)
	}
	if out, errOut, code := ifRun(t, dir, nil, "apply", "--seed", example); code != 0 || !strings.Contains(out, "0 created, 0 updated") {
		t.Fatalf("a second apply of the example: exit %d: %s%s", code, out, errOut)
	}
	n := ifStartNodeOn(t, freePort(t), nodeOptions{Dir: dir, Args: []string{"--seed", console}})

	// Olivia signs in with her password and her enrolled TOTP factor.
	r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "profile", "email", "phone", "roles", "admin")
	tok := ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: "olivia@acme.example", Pass: "correct horse battery staple", TOTP: "JBSWY3DPEHPK3PXP"})
	_, claims := ifJWT(t, tok.Extra("id_token").(string))
	if !strings.Contains(fmt.Sprint(claims["amr"]), "otp") || claims["acr"] != "mfa" {
		t.Errorf("olivia's enrolled TOTP factor was not asked for: amr %v acr %v", claims["amr"], claims["acr"])
	}
	api := &ifAPI{t: t, base: n.URL, token: tok.AccessToken}

	me := api.do("GET", "/api/v1/me", nil).want(t, 200, "GET /api/v1/me").JSON
	id, _ := me["id"].(string)
	u := api.do("GET", "/api/v1/partners/acme/users/"+id, nil).want(t, 200, "GET olivia").JSON
	for k, want := range map[string]any{"email": "olivia@acme.example", "partner": "acme", "kind": "employee",
		"role": "owner", "name": "Olivia Owner", "phone": "+15555550100", "active": true, "sso": false,
		"password_reset_disabled": false} {
		if u[k] != want {
			t.Errorf("olivia's %s is %v, want %v", k, u[k], want)
		}
	}
	if mfa, _ := u["mfa"].(map[string]any); !strings.Contains(fmt.Sprint(mfa["factors"]), "totp") {
		t.Errorf("olivia's factors %v lack the seeded totp", u["mfa"])
	}
	org := api.do("GET", "/api/v1/partners/acme/organizations/globex", nil).want(t, 200, "GET globex").JSON
	if org["name"] != "Globex Corp" || org["co_management"] != true || org["saas_account"] != "SP-1234" || org["mapped"] != true {
		t.Errorf("globex is %v", org)
	}
	conn := api.do("GET", "/api/v1/partners/acme/connections/acme-entra", nil).want(t, 200, "GET acme-entra").JSON
	if conn["type"] != "oidc" || conn["issuer"] != "https://login.example.com/tenant/v2.0" || conn["client_id"] != "gatehouse" {
		t.Errorf("acme-entra is %v", conn)
	}
	if strings.Contains(string(api.do("GET", "/api/v1/partners/acme/connections/acme-entra", nil).Body), "s3cret") {
		t.Errorf("the connection's client secret is shown by the API")
	}
	// The academy client is known: its authorization request is not
	// refused as an unknown client.
	ac := newRP(t, n.URL, "academy", "academy-secret", "https://academy.example/callback", "email")
	p := newBrowser(t, n.URL).get(ac.conf.AuthCodeURL("state-e2e-0123456789"))
	if p.Status >= 400 || !p.hasField("username") {
		t.Errorf("academy's authorization request: %d at %s", p.Status, p.URL)
	}
	// The service provider is known by its entity ID.
	sp.sp.IDPMetadata = ifIDPMetadata(t, n.URL)
	p = newBrowser(t, n.URL).get(sp.authnRedirect(t, ""))
	if p.Status >= 400 || !p.hasField("username") {
		t.Errorf("the service provider's AuthnRequest: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
}

// Defaults, matching by identifier, updates in place.
func TestInterfaceSeedDefaultsAndMatching(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sp := ifNewSAMLSP(t, "https://wiki.example/saml", "https://wiki.example/acs")
	md := ifIndent(string(sp.metadataXML(t)), "      ")
	first := `partners:
  - id: zeta
    name: Zeta MSP
    domain: zeta.example
    primary_email: boss@zeta.example
organizations:
  - id: umbrella
    partner: zeta
    name: Umbrella
users:
  - email: boss@zeta.example
    partner: zeta
    kind: employee
    role: owner
    name: Zed Boss
    password: "zeta-boss-copper-lamp-31"
  - email: Plain@Zeta.example
    partner: zeta
    kind: employee
    role: tech
    name: Plain Person
    password: "plain-person-walnut-88"
saml_service_providers:
  - entity_id: https://wiki.example/saml
    name: Wiki
    metadata: |
` + md + ifConsoleSeed
	f1 := ifWriteFile(t, dir, "one.yaml", first)
	if out, errOut, code := ifRun(t, dir, nil, "apply", "--seed", f1); code != 0 {
		t.Fatalf("apply: %d %s%s", code, out, errOut)
	}
	// The same entries again, changed: matched by email (in any case), id
	// and entity_id, and updated in place.
	second := strings.NewReplacer("name: Plain Person", "name: Plain Renamed", "email: Plain@Zeta.example", "email: plain@zeta.example",
		"name: Umbrella", "name: Umbrella Corp", "name: Wiki", "name: Wiki Two").Replace(first)
	f2 := ifWriteFile(t, dir, "two.yaml", second)
	out, errOut, code := ifRun(t, dir, nil, "apply", "--seed", f2)
	if code != 0 || !strings.Contains(out, "0 created") {
		t.Fatalf("re-apply with changes: %d %s%s", code, out, errOut)
	}

	n := ifStartNodeOn(t, freePort(t), nodeOptions{Dir: dir})
	api := ifAdminAPI(t, n.URL, "boss@zeta.example", "zeta-boss-copper-lamp-31")
	list := api.do("GET", "/api/v1/partners/zeta/users", nil).want(t, 200, "list").JSON
	users, _ := list["users"].([]any)
	if len(users) != 2 {
		t.Fatalf("%d users after two applies, want 2: %v", len(users), list)
	}
	for _, x := range users {
		u := x.(map[string]any)
		if u["email"] == "plain@zeta.example" {
			if u["name"] != "Plain Renamed" {
				t.Errorf("the user was not updated in place: %v", u)
			}
			// Defaults where a key is absent.
			if u["active"] != true || u["sso"] != false || u["password_reset_disabled"] != false {
				t.Errorf("defaults: %v", u)
			}
		}
	}
	org := api.do("GET", "/api/v1/partners/zeta/organizations/umbrella", nil).want(t, 200, "org").JSON
	if org["name"] != "Umbrella Corp" || org["co_management"] != false || org["mapped"] != false {
		t.Errorf("organization %v", org)
	}
	// require_mfa defaults to false: the owner signed in above with a
	// password alone.
}

// A bad seed is refused whole, naming the entry; nothing of it is applied.
func TestInterfaceSeedRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := ifWriteFile(t, dir, "base.yaml", ifSeed(ifSeedOptions{}))
	if out, errOut, code := ifRun(t, dir, nil, "apply", "--seed", base); code != 0 {
		t.Fatalf("apply: %d %s%s", code, out, errOut)
	}
	// Every bad file starts with a good new user, which must not appear.
	good := `users:
  - email: newcomer@acme.example
    partner: acme
    kind: employee
    role: tech
    name: New Comer
    password: "newcomer-tulip-anchor-55"
`
	cases := []struct{ name, body, entry, field string }{
		{"unknown partner", `  - email: x@nowhere.example
    partner: nowhere
    kind: employee
    role: tech
`, "x@nowhere.example", "partner"},
		{"unknown role", `  - email: x@acme.example
    partner: acme
    kind: employee
    role: wizard
`, "x@acme.example", "role"},
		{"unknown organization", `  - email: x@acme.example
    partner: acme
    kind: client
    organization: hooli
`, "x@acme.example", "organization"},
		{"co-managing user without co-management", `  - email: x@initech.example
    partner: acme
    kind: co_managing
    organization: initech
    username: xdoe
`, "x@initech.example", "organization"},
		{"duplicate username", `  - email: x@globex.example
    partner: acme
    kind: co_managing
    organization: globex
    username: jdoe
`, "x@globex.example", "username"},
		{"sso without a connection", `  - email: x@beta.example
    partner: beta
    kind: employee
    role: tech
    sso: true
`, "x@beta.example", "sso"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := ifWriteFile(t, t.TempDir(), "bad.yaml", good+c.body)
			out, errOut, code := ifRun(t, dir, nil, "apply", "--seed", f)
			msg := out + errOut
			if code == 0 {
				t.Fatalf("applied: %s", msg)
			}
			for _, w := range []string{f, c.entry, c.field} {
				if !strings.Contains(msg, w) {
					t.Errorf("message does not name %q:\n%s", w, msg)
				}
			}
		})
	}
	// Nothing was applied: the newcomer cannot sign in.
	n := ifStartNodeOn(t, freePort(t), nodeOptions{Dir: dir})
	b := newBrowser(t, n.URL)
	r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email")
	p := b.signIn(b.get(r.conf.AuthCodeURL("state-e2e-0123456789")), "newcomer@acme.example", "newcomer-tulip-anchor-55")
	if p.Location != nil {
		t.Fatalf("a user of a refused seed signed in")
	}
}

// password_hash (PHC or bcrypt) instead of a password, and a client that
// authenticates with private_key_jwt against its jwks_uri.
func TestInterfaceSeedPasswordHashAndPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	t.Cleanup(jwks.Close)
	hash, _ := bcrypt.GenerateFromPassword([]byte("bcrypt-person-pass-11"), 4)
	extra := ifWriteFile(t, t.TempDir(), "extra.yaml", `users:
  - email: hashed@acme.example
    partner: acme
    kind: employee
    role: tech
    password_hash: "`+string(hash)+`"
clients:
  - id: pkj
    redirect_uris: [http://localhost:9200/cb]
    grant_types: [client_credentials]
    scopes: [admin]
    token_endpoint_auth_method: private_key_jwt
    jwks_uri: `+jwks.URL+`
`)
	n := ifStart(t, ifNodeOptions{Extra: []string{"--seed", extra}})
	ifSignIn(t, n.URL, "hashed@acme.example", "bcrypt-person-pass-11", "email")

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	assertion, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "pkj", Subject: "pkj", Audience: jwt.Audience{n.URL + "/oauth2/token"},
		ID: "jti-e2e-1", IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
	a := ifPostForm(t, n.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}, "client_id": {"pkj"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}, "", "")
	if a.status != http.StatusOK || a.json["access_token"] == nil {
		t.Fatalf("private_key_jwt: %d %s", a.status, a.body)
	}
}
