package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"gatehouse/passwords"
	"gatehouse/provider/policy"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// Config is what the Service needs; zero values take the defaults noted.
type Config struct {
	Issuer         string // absolute base URL
	Directory      storage.Directory
	Ephemeral      storage.Ephemeral
	Roles          *policy.Catalogue
	PasswordParams passwords.Params
	// MaxConcurrentHashes bounds concurrent argon2id work so that a burst
	// of sign-ins queues instead of thrashing memory and caches; 0 means
	// GOMAXPROCS.
	MaxConcurrentHashes int
	LockoutThreshold    int           // consecutive failures that lock; 0 = 5
	LockoutDuration     time.Duration // 0 = until an admin unlocks
	SessionTTL          time.Duration // 0 = 12h
	FlowTTL             time.Duration // 0 = 30m
	// LoginRateLimit is how many sign-in form posts one address may make
	// per minute, shared across nodes through the ephemeral store; 0 = 30,
	// negative turns the limit off (benchmarks).
	LoginRateLimit int
	// Steps are added to the flow after the password step, in order,
	// before the role check and consent (see Use).
	Steps  []Step
	Secure web.Secure
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults applied by New.
const (
	DefaultLockoutThreshold = 5
	DefaultSessionTTL       = 12 * time.Hour
	DefaultFlowTTL          = 30 * time.Minute
	DefaultLoginRateLimit   = 30
	// lockoutCounterTTL bounds how long consecutive failures are
	// remembered: a failure a day ago and one now are not "consecutive".
	lockoutCounterTTL = 24 * time.Hour
)

// lockedForever is the LockedUntil of a lockout that lasts until an admin
// unlocks (storage.User documents a far-future time).
var lockedForever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Cookie names.
const (
	sessionCookie = "gh_session"
	flowCookie    = "gh_flow"
)

// Service runs sign-in flows and SSO sessions. Protocol adapters park their
// requests with Begin and take them back with Finish; everything between
// happens on Gatehouse's own pages under /login.
type Service struct {
	cfg Config
	dir storage.Directory
	eph storage.Ephemeral
	log *slog.Logger
	now func() time.Time
	// base is the issuer's path ("" when Gatehouse is at the root): every
	// route and link hangs off it.
	base string

	// steps run in order: password, cfg.Steps and Use'd steps, roles,
	// consent. byName finds a step from its page path.
	mu     sync.RWMutex
	steps  []Step
	extra  []Step
	byName map[string]Step

	// hashes bounds concurrent argon2id work.
	hashes chan struct{}
	// dummyHash is verified for unknown users so that they take as long as
	// known ones.
	dummyHash string

	partners partnerDomains

	endMu    sync.RWMutex
	onEnd    []SessionEndHandler
	password *passwordStep
}

// New returns a Service. It hashes one random password (the dummy hash
// unknown users are verified against), so it takes as long as one sign-in.
func New(cfg Config) *Service {
	if cfg.Directory == nil || cfg.Ephemeral == nil {
		panic("login: Config.Directory and Config.Ephemeral are required")
	}
	if cfg.LockoutThreshold <= 0 {
		cfg.LockoutThreshold = DefaultLockoutThreshold
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.FlowTTL <= 0 {
		cfg.FlowTTL = DefaultFlowTTL
	}
	if cfg.LoginRateLimit == 0 {
		cfg.LoginRateLimit = DefaultLoginRateLimit
	}
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if cfg.PasswordParams == (passwords.Params{}) {
		cfg.PasswordParams = passwords.DefaultParams
	}
	if cfg.Roles == nil {
		cfg.Roles = policy.DefaultCatalogue()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		cfg:    cfg,
		dir:    cfg.Directory,
		eph:    cfg.Ephemeral,
		log:    cfg.Logger,
		now:    cfg.Now,
		hashes: make(chan struct{}, cfg.MaxConcurrentHashes),
	}
	if u, err := url.Parse(cfg.Issuer); err == nil {
		s.base = strings.TrimSuffix(u.Path, "/")
	}
	s.partners = partnerDomains{dir: cfg.Directory, now: cfg.Now}
	dummy, err := passwords.Hash(cfg.PasswordParams, web.RandomToken(24))
	if err != nil {
		panic("login: cannot make the dummy password hash: " + err.Error())
	}
	s.dummyHash = dummy
	s.password = &passwordStep{s: s}
	for _, st := range cfg.Steps {
		s.Use(st)
	}
	s.rebuild()
	return s
}

// Use adds a step to every flow. Added steps run after the password step
// (so the flow knows its user, and has AMR unless the user signs in through
// their partner's connection) and before the role check and consent, in
// the order they were added: register federation before the second factor,
// and the second factor before enrolment. Call Use while wiring, before
// serving.
func (s *Service) Use(st Step) {
	name := st.Name()
	if name == "" || reservedNames[name] {
		panic(fmt.Sprintf("login: step name %q is reserved", name))
	}
	s.mu.Lock()
	for _, old := range s.extra {
		if old.Name() == name {
			s.mu.Unlock()
			panic(fmt.Sprintf("login: step %q added twice", name))
		}
	}
	s.extra = append(s.extra, st)
	s.mu.Unlock()
	s.rebuild()
}

// reservedNames are paths under /login that are not steps.
var reservedNames = map[string]bool{
	"password": true, "roles": true, "consent": true, "return": true,
	"forgot": true, "reset": true, "invite": true, "set-password": true,
}

func (s *Service) rebuild() {
	s.mu.Lock()
	defer s.mu.Unlock()
	steps := []Step{s.password}
	steps = append(steps, s.extra...)
	steps = append(steps, rolesStep{s: s}, consentStep{s: s})
	s.steps = steps
	s.byName = map[string]Step{}
	for _, st := range steps {
		s.byName[st.Name()] = st
	}
}

func (s *Service) stepList() []Step {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.steps
}

func (s *Service) stepNamed(name string) (Step, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.byName[name]
	return st, ok
}

// Mount registers the sign-in pages: /login (the first page, and the start
// of a sign-in to Gatehouse itself), /login/{step} for every other step,
// /login/return where Gatehouse's own sign-ins end, POST /logout and
// /logout/done.
func (s *Service) Mount(mux *http.ServeMux) {
	b := s.base
	mux.HandleFunc("GET "+b+"/login", s.serveLogin)
	mux.HandleFunc("POST "+b+"/login", s.serveLogin)
	mux.HandleFunc("GET "+b+"/login/return", s.serveReturn)
	mux.HandleFunc("GET "+b+"/login/{step}", s.serveStep)
	mux.HandleFunc("POST "+b+"/login/{step}", s.serveStep)
	mux.HandleFunc("POST "+b+"/logout", s.serveLogout)
	mux.HandleFunc("GET "+b+"/logout/done", s.serveLogoutDone)
}

// unavailable reports whether err comes from a backend that is down.
func unavailable(err error) bool { return errors.Is(err, storage.ErrUnavailable) }

// acquireHash waits for a free argon2id slot or for ctx to end.
func (s *Service) acquireHash(ctx context.Context) error {
	select {
	case s.hashes <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) releaseHash() { <-s.hashes }
