package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"

	"gatehouse/clients"
	"gatehouse/keys"
	"gatehouse/provider/login"
	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// Config is what the Provider needs. Issuer, Store, Ephemeral, Clients, Keys
// and Login are required; zero durations take the defaults below.
type Config struct {
	// Issuer is the public base URL; every endpoint hangs off it.
	Issuer    string
	Store     storage.Store
	Ephemeral storage.Ephemeral
	Clients   *clients.Registry
	// Keys signs every token. The caller loads it (Ensure) and keeps it
	// fresh (Watch); the Provider only reads it.
	Keys  *keys.Manager
	Login *login.Service
	// Roles is the role catalogue; policy.DefaultCatalogue when nil.
	Roles *policy.Catalogue

	AccessTokenTTL  time.Duration // DefaultAccessTokenTTL
	RefreshTokenTTL time.Duration // DefaultRefreshTokenTTL
	IDTokenTTL      time.Duration // DefaultIDTokenTTL
	AuthCodeTTL     time.Duration // DefaultAuthCodeTTL

	// HTTPClient fetches clients' jwks_uri and sends back-channel logout
	// tokens; a client with a 5-second timeout when nil.
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// Defaults of Config.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultIDTokenTTL      = time.Hour
	DefaultAuthCodeTTL     = 5 * time.Minute
	// parTTL is how long a pushed request waits for the browser.
	parTTL = 5 * time.Minute
	// backchannelTimeout bounds one back-channel logout delivery.
	backchannelTimeout = 5 * time.Second
)

// Paths, relative to the issuer.
const (
	pathDiscovery  = "/.well-known/openid-configuration"
	pathJWKS       = "/.well-known/jwks.json"
	pathAuthorize  = "/oauth2/authorize"
	pathResume     = "/oauth2/authorize/resume"
	pathToken      = "/oauth2/token"
	pathPAR        = "/oauth2/par"
	pathIntrospect = "/oauth2/introspect"
	pathRevoke     = "/oauth2/revoke"
	pathUserInfo   = "/userinfo"
	pathLogout     = "/oauth2/logout"
)

// Provider is the OpenID Connect provider. Build it with New and add its
// routes with Mount.
type Provider struct {
	cfg    Config
	issuer string // without a trailing slash
	prefix string // the issuer's path, for the mux patterns
	now    func() time.Time
	log    *slog.Logger

	// oauth is fosite; fosite is the same value, for AuthenticateClient.
	oauth  fosite.OAuth2Provider
	fosite *fosite.Fosite
	store  *store
	tokens *tokenStrategy
	signer *signer

	discovery []byte
	// verified remembers access tokens whose signature checked out.
	verified *verifiedTokens

	// sends tracks back-channel logout deliveries still running.
	sends sync.WaitGroup
}

// New checks cfg, composes fosite and registers the Provider with
// cfg.Login so that ending a sign-in session logs its clients out.
func New(cfg Config) (*Provider, error) {
	var missing []string
	for name, absent := range map[string]bool{
		"Issuer": cfg.Issuer == "", "Store": cfg.Store == nil, "Ephemeral": cfg.Ephemeral == nil,
		"Clients": cfg.Clients == nil, "Keys": cfg.Keys == nil, "Login": cfg.Login == nil,
	} {
		if absent {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("oidc: Config.%s is required", strings.Join(missing, ", Config."))
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("oidc: issuer %q must be an absolute http(s) URL without query or fragment", cfg.Issuer)
	}
	if cfg.Roles == nil {
		cfg.Roles = policy.DefaultCatalogue()
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if cfg.IDTokenTTL <= 0 {
		cfg.IDTokenTTL = DefaultIDTokenTTL
	}
	if cfg.AuthCodeTTL <= 0 {
		cfg.AuthCodeTTL = DefaultAuthCodeTTL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: backchannelTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	p := &Provider{
		cfg:    cfg,
		issuer: strings.TrimSuffix(cfg.Issuer, "/"),
		prefix: strings.TrimSuffix(u.Path, "/"),
		now:    cfg.Now,
		log:    cfg.Logger,

		verified: newVerifiedTokens(),
	}
	p.signer = &signer{keys: cfg.Keys}
	p.store = &store{p: p, eph: cfg.Ephemeral, sql: cfg.Store, clients: cfg.Clients}
	p.tokens = &tokenStrategy{p: p}

	fc := &fosite.Config{
		AccessTokenLifespan:   cfg.AccessTokenTTL,
		RefreshTokenLifespan:  cfg.RefreshTokenTTL,
		AuthorizeCodeLifespan: cfg.AuthCodeTTL,
		IDTokenLifespan:       cfg.IDTokenTTL,
		IDTokenIssuer:         p.issuer,
		AccessTokenIssuer:     p.issuer,
		TokenURL:              p.issuer + pathToken,

		// PKCE: required of public clients, S256 only.
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,

		AllowedPromptValues: []string{"none", "login", "consent"},
		ScopeStrategy:       fosite.ExactScopeStrategy,
		RefreshTokenScopes:  []string{"offline_access"},

		ClientSecretsHasher: newSecretHasher(),
		JWKSFetcherStrategy: newJWKSFetcher(cfg.HTTPClient),
		HTTPClient:          retryableClient(cfg.HTTPClient),

		PushedAuthorizeContextLifespan: parTTL,
	}
	// private_key_jwt: fosite compares the assertion's alg with the
	// client's registered one; Gatehouse registers none, so it lets the
	// client's keys decide (see client.GetTokenEndpointAuthSigningAlgorithm).
	fc.ClientAuthenticationStrategy = func(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
		return p.fosite.DefaultClientAuthenticationStrategy(withAssertionAlg(ctx, form), r, form)
	}

	strategy := &compose.CommonStrategy{
		CoreStrategy: p.tokens,
		OpenIDConnectTokenStrategy: &idTokenStrategy{inner: &openid.DefaultStrategy{
			Signer: p.signer,
			Config: fc,
		}},
		Signer: p.signer,
	}
	// Order matters: fosite runs the handlers in this order, and the PKCE
	// and OpenID Connect handlers need the code the first one issues.
	p.oauth = compose.Compose(fc, p.store, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2PKCEFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.PushedAuthorizeHandlerFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
	)
	for i, h := range fc.TokenEndpointHandlers {
		fc.TokenEndpointHandlers[i] = skipFast{h}
	}
	f, ok := p.oauth.(*fosite.Fosite)
	if !ok {
		return nil, errors.New("oidc: fosite.Compose returned an unexpected provider type")
	}
	p.fosite = f

	if p.discovery, err = p.buildDiscovery(); err != nil {
		return nil, err
	}
	cfg.Login.OnSessionEnd(p)
	return p, nil
}

// Mount adds the provider's routes to mux.
func (p *Provider) Mount(mux *http.ServeMux) {
	routes := []struct {
		methods []string
		path    string
		h       http.HandlerFunc
	}{
		{[]string{"GET"}, pathDiscovery, p.serveDiscovery},
		{[]string{"GET"}, pathJWKS, p.serveJWKS},
		{[]string{"GET", "POST"}, pathAuthorize, p.serveAuthorize},
		{[]string{"GET"}, pathResume, p.serveResume},
		{[]string{"POST"}, pathToken, p.serveToken},
		{[]string{"POST"}, pathPAR, p.servePAR},
		{[]string{"POST"}, pathIntrospect, p.serveIntrospect},
		{[]string{"POST"}, pathRevoke, p.serveRevoke},
		{[]string{"GET", "POST"}, pathUserInfo, p.serveUserInfo},
		{[]string{"GET", "POST"}, pathLogout, p.serveLogout},
	}
	for _, rt := range routes {
		for _, m := range rt.methods {
			mux.HandleFunc(m+" "+p.prefix+rt.path, rt.h)
		}
	}
}

// Wait blocks until every back-channel logout delivery that has started
// has finished (each is bounded by its own timeout). Call it at shutdown.
func (p *Provider) Wait() { p.sends.Wait() }

// skipFast lets a token endpoint handler decline a request it does not
// handle without building an error with a stack trace: fosite asks every
// handler to populate every response, and the traces of the handlers that
// decline cost more than the rest of a client_credentials request bar the
// signature.
type skipFast struct{ fosite.TokenEndpointHandler }

func (s skipFast) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !s.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	return s.TokenEndpointHandler.PopulateTokenEndpointResponse(ctx, req, resp)
}

// retryableClient wraps c for fosite, without retries: a relying party's
// jwks_uri that fails is reported at once rather than after a back-off.
func retryableClient(c *http.Client) *retryablehttp.Client {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = c
	rc.RetryMax = 0
	rc.Logger = nil
	return rc
}
