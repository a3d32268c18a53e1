package oidc_test

import (
	"context"
	"net/http"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Discovery names every endpoint and what Gatehouse supports.
func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.issuer + "/.well-known/openid-configuration")
	must(t, err)
	m := decodeJSON(t, resp)
	for k, want := range map[string]string{
		"issuer":                                e.issuer,
		"authorization_endpoint":                e.issuer + "/oauth2/authorize",
		"token_endpoint":                        e.issuer + "/oauth2/token",
		"userinfo_endpoint":                     e.issuer + "/userinfo",
		"jwks_uri":                              e.issuer + "/.well-known/jwks.json",
		"end_session_endpoint":                  e.issuer + "/oauth2/logout",
		"introspection_endpoint":                e.issuer + "/oauth2/introspect",
		"revocation_endpoint":                   e.issuer + "/oauth2/revoke",
		"pushed_authorization_request_endpoint": e.issuer + "/oauth2/par",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %s", k, m[k], want)
		}
	}
	for _, k := range []string{"backchannel_logout_supported", "backchannel_logout_session_supported"} {
		if m[k] != true {
			t.Errorf("%s = %v", k, m[k])
		}
	}
	if algs, _ := m["id_token_signing_alg_values_supported"].([]any); len(algs) < 2 || algs[0] != "RS256" || algs[1] != "ES256" {
		t.Errorf("id_token_signing_alg_values_supported %v, want RS256 first", m["id_token_signing_alg_values_supported"])
	}
	if ccm, _ := m["code_challenge_methods_supported"].([]any); len(ccm) != 1 || ccm[0] != "S256" {
		t.Errorf("code_challenge_methods_supported %v", m["code_challenge_methods_supported"])
	}

	// go-oidc accepts it, and finds the keys.
	p, err := gooidc.NewProvider(context.Background(), e.issuer)
	must(t, err)
	var claims struct {
		EndSession string `json:"end_session_endpoint"`
	}
	must(t, p.Claims(&claims))
	if claims.EndSession == "" {
		t.Fatal("no end_session_endpoint through go-oidc")
	}
	resp, err = http.Get(e.issuer + "/.well-known/jwks.json")
	must(t, err)
	jwks := decodeJSON(t, resp)
	if keys, _ := jwks["keys"].([]any); len(keys) != 2 {
		t.Fatalf("jwks has %d keys, want RS256 and ES256", len(keys))
	}
}
