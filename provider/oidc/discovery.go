package oidc

import (
	"encoding/json"
	"net/http"
	"strconv"

	"gatehouse/clients"
)

// buildDiscovery makes the OpenID Provider metadata (OpenID Connect
// Discovery 1.0 section 3, RFC 8414) once; it never changes while the
// process runs.
func (p *Provider) buildDiscovery() ([]byte, error) {
	at := func(path string) string { return p.issuer + path }
	authMethods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	confidentialMethods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
	meta := map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                at(pathAuthorize),
		"token_endpoint":                        at(pathToken),
		"userinfo_endpoint":                     at(pathUserInfo),
		"jwks_uri":                              at(pathJWKS),
		"end_session_endpoint":                  at(pathLogout),
		"introspection_endpoint":                at(pathIntrospect),
		"revocation_endpoint":                   at(pathRevoke),
		"pushed_authorization_request_endpoint": at(pathPAR),
		"require_pushed_authorization_requests": false,

		"scopes_supported":                      clients.Scopes,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"prompt_values_supported":               []string{"none", "login", "consent"},
		"acr_values_supported":                  []string{"pwd", "mfa", "fed"},
		"claims_supported": []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
			"name", "given_name", "family_name", "locale", "zoneinfo", "updated_at",
			"email", "email_verified", "phone_number", "phone_number_verified",
			"roles", "partner_id", "user_kind", "org_ids",
		},
		"claims_parameter_supported":                  false,
		"request_parameter_supported":                 true,
		"request_uri_parameter_supported":             false,
		"request_object_signing_alg_values_supported": []string{"RS256"},

		"token_endpoint_auth_methods_supported":                        authMethods,
		"token_endpoint_auth_signing_alg_values_supported":             []string{"RS256", "PS256", "ES256"},
		"introspection_endpoint_auth_methods_supported":                confidentialMethods,
		"revocation_endpoint_auth_methods_supported":                   authMethods,
		"pushed_authorization_request_endpoint_auth_methods_supported": authMethods,

		"backchannel_logout_supported":         true,
		"backchannel_logout_session_supported": true,
		"frontchannel_logout_supported":        false,
	}
	return json.MarshalIndent(meta, "", "  ")
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeStatic(w, p.discovery, "public, max-age=3600")
}

// serveJWKS serves the keys.Manager's pre-serialised key set. Relying
// parties may cache it briefly: after a rotation they meet an unknown kid
// and fetch it again, as go-oidc and most libraries do.
func (p *Provider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	writeStatic(w, p.cfg.Keys.JWKS(), "public, max-age=300")
}

func writeStatic(w http.ResponseWriter, b []byte, cache string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", cache)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(b)
}
