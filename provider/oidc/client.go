package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"

	"gatehouse/storage"
)

// client adapts a registered relying party to fosite's client interfaces.
type client struct {
	c storage.Client
	// assertionAlg is the alg of the client_assertion being checked, when
	// the client authenticates with private_key_jwt (see withAssertionAlg).
	assertionAlg string
}

var (
	_ fosite.Client              = (*client)(nil)
	_ fosite.OpenIDConnectClient = (*client)(nil)
)

func (c *client) GetID() string                   { return c.c.ID }
func (c *client) GetHashedSecret() []byte         { return []byte(c.c.SecretHash) }
func (c *client) GetRedirectURIs() []string       { return c.c.RedirectURIs }
func (c *client) GetGrantTypes() fosite.Arguments { return fosite.Arguments(c.c.GrantTypes) }
func (c *client) GetScopes() fosite.Arguments     { return fosite.Arguments(c.c.Scopes) }
func (c *client) GetAudience() fosite.Arguments   { return nil }

// GetResponseTypes: the code flow only. Implicit and hybrid flows are not
// offered (OAuth 2.0 Security BCP).
func (c *client) GetResponseTypes() fosite.Arguments { return fosite.Arguments{"code"} }

// IsPublic: a client without a secret or keys, which PKCE must protect.
func (c *client) IsPublic() bool {
	return c.c.TokenEndpointAuthMethod == "none" || c.c.Public()
}

func (c *client) GetRequestURIs() []string            { return nil }
func (c *client) GetJSONWebKeys() *jose.JSONWebKeySet { return nil }
func (c *client) GetJSONWebKeysURI() string           { return c.c.JWKSURI }
func (c *client) GetTokenEndpointAuthMethod() string  { return c.c.TokenEndpointAuthMethod }
func (c *client) GetRequestObjectSigningAlgorithm() string {
	// Request objects must be signed (fosite would otherwise accept "none").
	return "RS256"
}

// GetTokenEndpointAuthSigningAlgorithm: clients register keys, not an
// algorithm; any algorithm the keys can verify is accepted, since fosite
// checks the key's type against the alg before verifying.
func (c *client) GetTokenEndpointAuthSigningAlgorithm() string {
	if c.assertionAlg != "" {
		return c.assertionAlg
	}
	return "RS256"
}

// idTokenAlg is the client's id_token_signed_response_alg.
func (c *client) idTokenAlg() string {
	if c.c.IDTokenAlg == "ES256" {
		return "ES256"
	}
	return "RS256"
}

// displayName is what sign-in pages call the client.
func (c *client) displayName() string {
	if c.c.Name != "" {
		return c.c.Name
	}
	return c.c.ID
}

type ctxKey int

const (
	assertionAlgKey ctxKey = iota
	idTokenAlgKey
	txnKey
)

// assertionAlgs are the algorithms accepted for private_key_jwt.
var assertionAlgs = map[string]bool{"RS256": true, "PS256": true, "ES256": true}

// withAssertionAlg notes the alg of the request's client_assertion, read
// without verifying it: it only selects which key type fosite then
// verifies the assertion with.
func withAssertionAlg(ctx context.Context, form url.Values) context.Context {
	a := form.Get("client_assertion")
	head, _, ok := strings.Cut(a, ".")
	if !ok || len(head) > 1024 {
		return ctx
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ctx
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil || !assertionAlgs[h.Alg] {
		return ctx
	}
	return context.WithValue(ctx, assertionAlgKey, h.Alg)
}

// jwksFetcher fetches a private_key_jwt client's jwks_uri with fosite's
// cached fetcher, and reports a key set it cannot get as the client's
// fault (invalid_client) rather than a server error.
type jwksFetcher struct{ inner fosite.JWKSFetcherStrategy }

func newJWKSFetcher(hc *http.Client) *jwksFetcher {
	return &jwksFetcher{inner: fosite.NewDefaultJWKSFetcherStrategy(
		fosite.JWKSFetcherWithHTTPClient(retryableClient(hc)),
		fosite.JKWKSFetcherWithDefaultTTL(10*time.Minute),
	)}
}

func (j *jwksFetcher) Resolve(ctx context.Context, location string, ignoreCache bool) (*jose.JSONWebKeySet, error) {
	set, err := j.inner.Resolve(ctx, location, ignoreCache)
	if err != nil {
		return nil, fosite.ErrInvalidClient.WithHintf("The client's jwks_uri could not be fetched or read: %s", fosite.ErrorToRFC6749Error(err).GetDescription()).WithWrap(err)
	}
	return set, nil
}
