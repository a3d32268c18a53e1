package saml

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"gatehouse/clients"
	"gatehouse/keys"
	"gatehouse/provider/login"
	"gatehouse/storage"
)

// Defaults and limits.
const (
	// DefaultAssertionTTL is how long a Response may take to reach the
	// service provider: SubjectConfirmationData and Conditions NotOnOrAfter.
	DefaultAssertionTTL = 5 * time.Minute
	// DefaultMetadataTTL is how long service-provider metadata fetched from
	// its metadata_url is reused before it is fetched again.
	DefaultMetadataTTL = time.Hour

	// maxMessageBytes bounds a decoded (and inflated) SAML request.
	maxMessageBytes = 64 << 10
	// maxRelayState bounds RelayState. SAML Bindings 3.4.3 says 80 bytes;
	// many service providers send more, so Gatehouse allows some room.
	maxRelayState = 2048
	// requestMaxAge is how old an IssueInstant may be; clockSkew is how far
	// in the future it may be, for service providers whose clocks run fast.
	requestMaxAge = 5 * time.Minute
	clockSkew     = 90 * time.Second
	// replayTTL keeps a request ID for as long as the request could be
	// accepted at all.
	replayTTL = requestMaxAge + 2*clockSkew
	// fetchTimeout bounds one fetch of service-provider metadata; sloTimeout
	// one back-channel LogoutRequest.
	fetchTimeout = 10 * time.Second
	sloTimeout   = 5 * time.Second
	// maxMetadataBytes bounds fetched metadata.
	maxMetadataBytes = 1 << 20
)

// Config is what the identity provider needs. Issuer, Directory, Ephemeral,
// Clients, Keys and Login are required; the rest take defaults.
type Config struct {
	Issuer     string // public base URL, as in the configuration
	Directory  storage.Directory
	Ephemeral  storage.Ephemeral
	Clients    *clients.Registry
	Keys       *keys.Manager
	Login      *login.Service
	HTTPClient *http.Client // metadata fetches and back-channel logout; a client with timeouts when nil
	Now        func() time.Time
	Logger     *slog.Logger
	// AssertionTTL is the validity window of an assertion; DefaultAssertionTTL when zero.
	AssertionTTL time.Duration

	// ServiceProviders lists the service providers for Services (the launch
	// links on /account); Services returns none when it is nil.
	ServiceProviders storage.RelyingParties
	// MetadataTTL bounds how long fetched metadata is reused; DefaultMetadataTTL when zero.
	MetadataTTL time.Duration
	// Rand is the source of message IDs; crypto/rand when nil.
	Rand io.Reader
}

// IdP is the SAML identity provider. Build it with New and add its routes
// with Mount.
type IdP struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	rand     io.Reader
	http     *http.Client
	noFollow *http.Client // back-channel logout: an SP's redirect is for a browser

	issuer   string // without a trailing slash
	base     string // the issuer's path ("" at the root): every route hangs off it
	entityID string // ISSUER/saml/metadata
	ssoURL   string
	sloURL   string

	mdMu    sync.Mutex
	parsed  map[string]parsedSP     // entity id -> parsed metadata
	fetched map[string]fetchedBytes // metadata URL -> last good fetch
	fetches singleflight.Group

	bg sync.WaitGroup // back-channel logout requests and metadata refreshes in flight
}

// New checks cfg and returns the identity provider. It registers
// SessionEnded with cfg.Login so that every SAML participant of a session
// that ends, however it ends, is sent a LogoutRequest.
func New(cfg Config) (*IdP, error) {
	var missing []string
	if cfg.Issuer == "" {
		missing = append(missing, "Issuer")
	}
	if cfg.Directory == nil {
		missing = append(missing, "Directory")
	}
	if cfg.Ephemeral == nil {
		missing = append(missing, "Ephemeral")
	}
	if cfg.Clients == nil {
		missing = append(missing, "Clients")
	}
	if cfg.Keys == nil {
		missing = append(missing, "Keys")
	}
	if cfg.Login == nil {
		missing = append(missing, "Login")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("saml: Config needs %s", strings.Join(missing, ", "))
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("saml: issuer %q is not an absolute http(s) URL", cfg.Issuer)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AssertionTTL <= 0 {
		cfg.AssertionTTL = DefaultAssertionTTL
	}
	if cfg.MetadataTTL <= 0 {
		cfg.MetadataTTL = DefaultMetadataTTL
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	noFollow := *cfg.HTTPClient
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	issuer := strings.TrimRight(cfg.Issuer, "/")
	p := &IdP{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "saml"),
		now:      cfg.Now,
		rand:     cfg.Rand,
		http:     cfg.HTTPClient,
		noFollow: &noFollow,
		issuer:   issuer,
		base:     strings.TrimSuffix(u.Path, "/"),
		entityID: issuer + "/saml/metadata",
		ssoURL:   issuer + "/saml/sso",
		sloURL:   issuer + "/saml/slo",
		parsed:   map[string]parsedSP{},
		fetched:  map[string]fetchedBytes{},
	}
	cfg.Login.OnSessionEnd(p)
	return p, nil
}

// resumePath is where the sign-in flow hands the browser back.
const resumePath = "/saml/resume"

// Mount adds the identity provider's routes to mux, under the issuer's
// path.
func (p *IdP) Mount(mux *http.ServeMux) {
	b := p.base
	mux.HandleFunc("GET "+b+"/saml/metadata", p.serveMetadata)
	mux.HandleFunc("GET "+b+"/saml/sso", p.serveSSO)
	mux.HandleFunc("POST "+b+"/saml/sso", p.serveSSO)
	mux.HandleFunc("GET "+b+resumePath, p.serveResume)
	mux.HandleFunc("GET "+b+"/saml/idp-initiated", p.serveIDPInitiated)
	mux.HandleFunc("GET "+b+"/saml/slo", p.serveSLO)
	mux.HandleFunc("POST "+b+"/saml/slo", p.serveSLO)
}

// EntityID is the identity provider's entity ID: the URL of its metadata.
func (p *IdP) EntityID() string { return p.entityID }

// newID returns a fresh XML ID for a message or assertion. It starts with
// an underscore because an xs:ID must be an NCName.
func (p *IdP) newID() (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(p.rand, b); err != nil {
		return "", fmt.Errorf("saml: reading randomness: %w", err)
	}
	return "_" + hex.EncodeToString(b), nil
}

// nowUTC is the injected clock in UTC: crewjam's Element methods format
// times without converting them, and SAML times must be UTC.
func (p *IdP) nowUTC() time.Time { return p.now().UTC() }

// unavailable reports whether err comes from a backend that is down.
func unavailable(err error) bool { return errors.Is(err, storage.ErrUnavailable) }
