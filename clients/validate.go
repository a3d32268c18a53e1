package clients

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"gatehouse/storage"
)

// FieldError names the field of a relying party that is invalid.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Known values.
var (
	GrantTypes  = []string{"authorization_code", "refresh_token", "client_credentials"}
	AuthMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	IDTokenAlgs = []string{"RS256", "ES256"}
	Scopes      = []string{"openid", "profile", "email", "phone", "roles", "offline_access", "admin"}
)

// ValidateRedirectURI checks a redirect URI as OAuth 2.0 Security BCP asks:
// absolute, no fragment, HTTPS except for loopback hosts (native apps and
// development), or a private-use scheme with a dot (reverse domain).
func ValidateRedirectURI(raw string) error {
	if raw == "" {
		return errors.New("must not be empty")
	}
	if len(raw) > 2000 {
		return errors.New("is longer than 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %v", err)
	}
	if !u.IsAbs() {
		return fmt.Errorf("%q is not absolute", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not contain a fragment", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not contain user information", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q must use https (http is allowed only for localhost)", raw)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: scheme %q is neither https nor a private-use scheme such as com.example.app", raw, u.Scheme)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasSuffix(host, ".localhost")
}

// ValidateClient checks an OIDC client, naming the first invalid field.
// Apply Defaults first.
func ValidateClient(c storage.Client) error {
	if c.ID == "" {
		return fieldErr("id", "must not be empty")
	}
	if len(c.ID) > 128 {
		return fieldErr("id", "is longer than 128 characters")
	}
	for i, g := range c.GrantTypes {
		if !slices.Contains(GrantTypes, g) {
			return fieldErr(fmt.Sprintf("grant_types[%d]", i), "%q is not one of %s", g, strings.Join(GrantTypes, ", "))
		}
	}
	if slices.Contains(c.GrantTypes, "authorization_code") && len(c.RedirectURIs) == 0 {
		return fieldErr("redirect_uris", "a client with the authorization_code grant needs at least one")
	}
	for i, u := range c.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return &FieldError{Field: fmt.Sprintf("redirect_uris[%d]", i), Err: err}
		}
	}
	for i, u := range c.PostLogoutRedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return &FieldError{Field: fmt.Sprintf("post_logout_redirect_uris[%d]", i), Err: err}
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := ValidateRedirectURI(c.BackchannelLogoutURI); err != nil {
			return &FieldError{Field: "backchannel_logout_uri", Err: err}
		}
	}
	for i, s := range c.Scopes {
		if !slices.Contains(Scopes, s) {
			return fieldErr(fmt.Sprintf("scopes[%d]", i), "%q is not a scope Gatehouse knows (%s)", s, strings.Join(Scopes, ", "))
		}
	}
	m := c.TokenEndpointAuthMethod
	if !slices.Contains(AuthMethods, m) {
		return fieldErr("token_endpoint_auth_method", "%q is not one of %s", m, strings.Join(AuthMethods, ", "))
	}
	switch {
	case m == "none" && c.SecretHash != "":
		return fieldErr("token_endpoint_auth_method", "is none, but the client has a secret")
	case (m == "client_secret_basic" || m == "client_secret_post") && c.SecretHash == "":
		return fieldErr("secret", "is required for %s", m)
	case m == "private_key_jwt":
		if c.JWKSURI == "" {
			return fieldErr("jwks_uri", "is required for private_key_jwt")
		}
		if u, err := url.Parse(c.JWKSURI); err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			return fieldErr("jwks_uri", "%q must be an https URL", c.JWKSURI)
		}
	}
	if m == "none" && slices.Contains(c.GrantTypes, "client_credentials") {
		return fieldErr("grant_types", "a public client cannot use client_credentials")
	}
	if c.IDTokenAlg != "" && !slices.Contains(IDTokenAlgs, c.IDTokenAlg) {
		return fieldErr("id_token_signed_response_alg", "%q is not one of %s", c.IDTokenAlg, strings.Join(IDTokenAlgs, ", "))
	}
	return nil
}

// Defaults fills what a client leaves out: grant types, scopes, the
// authentication method implied by whether it has a secret, RS256.
func Defaults(c storage.Client) storage.Client {
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "profile", "email", "roles", "offline_access"}
	}
	if c.TokenEndpointAuthMethod == "" {
		if c.SecretHash == "" && c.JWKSURI == "" {
			c.TokenEndpointAuthMethod = "none"
		} else if c.SecretHash == "" {
			c.TokenEndpointAuthMethod = "private_key_jwt"
		} else {
			c.TokenEndpointAuthMethod = "client_secret_basic"
		}
	}
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = "RS256"
	}
	return c
}

// ValidateServiceProvider checks a SAML service provider's fields other
// than its metadata, which the SAML package parses.
func ValidateServiceProvider(sp storage.ServiceProvider) error {
	if sp.EntityID == "" {
		return fieldErr("entity_id", "must not be empty")
	}
	if len(sp.EntityID) > 1024 {
		return fieldErr("entity_id", "is longer than 1024 characters")
	}
	switch {
	case sp.Metadata == "" && sp.MetadataURL == "":
		return fieldErr("metadata", "either metadata or metadata_url is required")
	case sp.MetadataURL != "":
		u, err := url.Parse(sp.MetadataURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fieldErr("metadata_url", "%q is not an http(s) URL", sp.MetadataURL)
		}
	}
	return nil
}
