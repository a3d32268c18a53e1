package federation

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

	"gatehouse/keys"
	"gatehouse/provider/login"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// Connection types (storage.Connection.Type).
const (
	TypeOIDC = "oidc"
	TypeSAML = "saml"
)

// Flows is what federation needs of the sign-in service: load a flow from
// outside its pages, with the same checks the steps get (it exists, has not
// expired, was started by this browser), and hand it back once the user is
// authenticated. *login.Service implements it.
type Flows interface {
	LoadFlow(r *http.Request, id string) (*login.Flow, error)
	Resume(w http.ResponseWriter, r *http.Request, f *login.Flow)
}

// Config is what Federation needs. Issuer, Store, Ephemeral and Login are
// required; Box is required to use a connection with a client secret, Keys
// to sign SAML AuthnRequests (without it they go unsigned and the SP
// metadata carries no certificate).
type Config struct {
	Issuer    string // absolute base URL
	Store     storage.Store
	Ephemeral storage.Ephemeral
	Login     Flows
	Box       *keys.Box
	Keys      *keys.Manager
	// HTTPClient reaches the upstream providers (discovery, JWKS, token
	// endpoint, SAML metadata). When nil, a client that refuses loopback,
	// private and link-local addresses (see AllowPrivateUpstreams).
	HTTPClient *http.Client
	// AllowPrivateUpstreams lets the default client reach loopback and
	// private addresses: an identity provider on the same host or network,
	// in development. Off, a partner's admin cannot make Gatehouse probe its
	// internal network through a connection's URLs.
	AllowPrivateUpstreams bool
	// Timeout bounds every request to an upstream provider; 10 s when zero.
	Timeout time.Duration
	// CacheTTL is how long discovery documents and IdP metadata are reused;
	// 1h when zero.
	CacheTTL time.Duration
	// StateTTL is how long a browser may stay at the upstream provider;
	// 10 minutes when zero.
	StateTTL time.Duration
	Secure   web.Secure
	Now      func() time.Time
	Logger   *slog.Logger
}

// Defaults.
const (
	DefaultCacheTTL = time.Hour
	DefaultStateTTL = 10 * time.Minute
	DefaultTimeout  = 10 * time.Second
	// maxDocument bounds a discovery document, a JWKS or SAML metadata.
	maxDocument = 1 << 20
)

// Federation signs users in through their partner's connection.
type Federation struct {
	cfg    Config
	store  storage.Store
	eph    storage.Ephemeral
	flows  Flows
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	issuer string // without a trailing slash
	base   string // the issuer's path ("" at the root)

	mu    sync.Mutex
	cache map[string]cached // by cacheKey
	step  *step
}

// cached is a discovered OIDC provider or parsed IdP metadata.
type cached struct {
	value   any
	fetched time.Time
}

// New returns a Federation.
func New(cfg Config) (*Federation, error) {
	var missing []string
	if cfg.Issuer == "" {
		missing = append(missing, "Issuer")
	}
	if cfg.Store == nil {
		missing = append(missing, "Store")
	}
	if cfg.Ephemeral == nil {
		missing = append(missing, "Ephemeral")
	}
	if cfg.Login == nil {
		missing = append(missing, "Login")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("federation: Config.%s required", strings.Join(missing, ", Config."))
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("federation: Config.Issuer %q is not an absolute URL", cfg.Issuer)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = upstreamClient(cfg.Timeout, cfg.AllowPrivateUpstreams)
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = DefaultStateTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &Federation{
		cfg:    cfg,
		store:  cfg.Store,
		eph:    cfg.Ephemeral,
		flows:  cfg.Login,
		client: cfg.HTTPClient,
		log:    cfg.Logger,
		now:    cfg.Now,
		issuer: strings.TrimSuffix(cfg.Issuer, "/"),
		base:   strings.TrimSuffix(u.Path, "/"),
		cache:  map[string]cached{},
	}
	f.step = &step{f: f}
	return f, nil
}

// Step returns the sign-in step to register with login.Service.Use (or
// login.Config.Steps) before the second-factor steps.
func (f *Federation) Step() login.Step { return f.step }

// Mount registers the connection endpoints.
func (f *Federation) Mount(mux *http.ServeMux) {
	b := f.base
	mux.HandleFunc("GET "+b+"/federation/{id}/callback", f.serveCallback)
	mux.HandleFunc("GET "+b+"/federation/{id}/metadata", f.serveMetadata)
	mux.HandleFunc("POST "+b+"/federation/{id}/acs", f.serveACS)
	mux.HandleFunc("GET "+b+"/federation/{id}/continue", f.serveContinue)
}

// URLs of a connection, as INTERFACE.md section 7 fixes them.
func (f *Federation) callbackURL(id string) string {
	return f.issuer + "/federation/" + id + "/callback"
}
func (f *Federation) metadataURL(id string) string {
	return f.issuer + "/federation/" + id + "/metadata"
}
func (f *Federation) acsURL(id string) string { return f.issuer + "/federation/" + id + "/acs" }

// stepURL is the federation step's page for a flow: visiting it sends the
// browser upstream again.
func (f *Federation) stepURL(flowID string) string {
	return f.base + "/login/" + stepName + "?flow=" + url.QueryEscape(flowID)
}

// errNoConnection: the user's partner has no connection.
var errNoConnection = errors.New("federation: the partner has no connection")

// connectionFor returns the partner's connection: the first by id when
// there are several.
func (f *Federation) connectionFor(ctx context.Context, partnerID string) (storage.Connection, error) {
	cs, err := f.store.ListConnections(ctx, partnerID)
	if err != nil {
		return storage.Connection{}, err
	}
	cs = slices.DeleteFunc(cs, func(c storage.Connection) bool { return c.Type != TypeOIDC && c.Type != TypeSAML })
	if len(cs) == 0 {
		return storage.Connection{}, errNoConnection
	}
	slices.SortFunc(cs, func(a, b storage.Connection) int { return strings.Compare(a.ID, b.ID) })
	return cs[0], nil
}

// cacheKey names what was fetched for a connection as it is now: a changed
// connection (UpdatedAt) misses the cache on every node at once.
func cacheKey(c storage.Connection) string {
	return c.ID + "\x00" + c.UpdatedAt.UTC().Format(time.RFC3339Nano) + "\x00" + c.Issuer + "\x00" + c.MetadataURL
}

func (f *Federation) cached(key string) (any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.cache[key]
	if !ok || f.now().Sub(e.fetched) >= f.cfg.CacheTTL {
		return nil, false
	}
	return e.value, true
}

func (f *Federation) remember(key string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	// Drop what has gone stale so that edited connections do not pile up.
	for k, e := range f.cache {
		if now.Sub(e.fetched) >= f.cfg.CacheTTL {
			delete(f.cache, k)
		}
	}
	f.cache[key] = cached{value: v, fetched: now}
}

// displayName is how pages name a connection.
func displayName(c storage.Connection) string {
	if c.Name != "" {
		return c.Name
	}
	return "your organization's sign-in service"
}

// audit appends an event on the connection's partner. A failure to audit
// is logged, not shown: the browser's answer does not depend on it.
func (f *Federation) audit(ctx context.Context, r *http.Request, c storage.Connection, actor, action, target string, details map[string]any) {
	if actor == "" {
		actor = "anonymous"
	}
	if details == nil {
		details = map[string]any{}
	}
	details["connection"] = c.ID
	err := f.store.AppendAudit(ctx, storage.AuditEvent{
		PartnerID: c.PartnerID, Time: f.now().UTC(), Actor: actor, Action: action,
		Target: target, IP: web.ClientIP(r), Details: details,
	})
	if err != nil {
		f.log.Error("federation: audit", "action", action, "connection", c.ID, "err", err)
	}
}
