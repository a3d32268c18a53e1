package provider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gatehouse/provider/web"
	"gatehouse/templates"
)

// Defaults of ServerConfig.
const (
	DefaultMaxBodyBytes    = 1 << 20 // 1 MiB: the largest legitimate body is a SAML POST
	DefaultShutdownTimeout = 20 * time.Second
	readyTimeout           = 3 * time.Second
)

// Pinger is what readiness asks of a backend.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Mounter is a subsystem that adds its routes to the server's mux: the OIDC
// provider, the SAML identity provider, the sign-in pages, the admin API.
type Mounter interface {
	Mount(mux *http.ServeMux)
}

// ServerConfig is everything a Server needs; zero values take defaults.
type ServerConfig struct {
	// Listen is the address Run listens on (":8080").
	Listen string
	Logger *slog.Logger
	// Store is the durable store /readyz pings; required.
	Store Pinger
	// Ephemeral, when set, is pinged by /readyz too (Redis).
	Ephemeral Pinger
	// Metrics receives the HTTP metrics and the Go and process collectors.
	// A fresh registry when nil; pass one to add subsystem metrics.
	Metrics *prometheus.Registry
	// MaxBodyBytes bounds request bodies; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long Run waits for requests in flight.
	ShutdownTimeout time.Duration
}

// Server is Gatehouse's HTTP server. Build it with NewServer, add
// subsystems with Mount, then Run it.
type Server struct {
	cfg     ServerConfig
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	http    *http.Server

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewServer builds the server with its own endpoints mounted.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route pattern and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "code"})
	cfg.Metrics.MustRegister(s.requests, s.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{}))
	s.mux.Handle("GET /static/", staticHandler(templates.Static()))

	// Outermost first: metrics and the access log see the final status,
	// including the 500 that recovery writes.
	s.handler = s.observe(s.recoverPanics(s.limitBody(securityHeaders(s.mux))))
	s.http = &http.Server{
		Addr:              cfg.Listen,
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Mount lets a subsystem add its routes.
func (s *Server) Mount(m Mounter) { m.Mount(s.mux) }

// Handle adds one route.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Metrics returns the registry /metrics serves.
func (s *Server) Metrics() *prometheus.Registry { return s.cfg.Metrics }

// Handler returns the server's handler with every middleware, for tests
// that drive it through httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on cfg.Listen and serves until ctx ends, then shuts down
// gracefully (see Serve).
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends. It then stops accepting connections
// and waits up to ShutdownTimeout for the requests in flight to finish;
// their contexts are not cancelled by ctx, so they finish normally.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down; waiting for requests in flight", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok"))
}

// readyz answers 200 when every backend answers a ping, 503 otherwise. The
// body names what is down but not why: the detail (addresses, driver
// errors) goes to the log, not to whoever can reach the endpoint.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks := []struct {
		name string
		p    Pinger
	}{{"database", s.cfg.Store}, {"ephemeral", s.cfg.Ephemeral}}
	down := []string{}
	for _, c := range checks {
		if c.p == nil {
			continue
		}
		if err := c.p.Ping(ctx); err != nil {
			s.log.Warn("readiness check failed", "backend", c.name, "err", err)
			down = append(down, c.name)
		}
	}
	if len(down) > 0 {
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "down": down})
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// staticHandler serves the embedded assets. They change only with a new
// release, so browsers may keep them a week; not "immutable", because the
// file names carry no version.
func staticHandler(fsys fs.FS) http.Handler {
	files := http.StripPrefix("/static/", http.FileServer(http.FS(fsys)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=604800")
		files.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every response carries. They are set
// before the handler runs, so a handler that needs another policy (a SAML
// POST-binding form) overrides them.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("X-Content-Type-Options", "nosniff")
		} else {
			web.PageHeaders(h)
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses a body larger than MaxBodyBytes: at once when the
// declared length says so, and otherwise when a handler reads past the
// limit (the read fails with *http.MaxBytesError, see BodyTooLarge).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			w.Header().Set("Connection", "close")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// BodyTooLarge reports whether err came from reading past the body limit;
// a handler answers 413 for it.
func BodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// recoverPanics turns a handler's panic into a plain 500. The stack goes to
// the log only: it may name internals no caller should see.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(v) // the handler asked to abort the connection
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec, ok := w.(*recorder); !ok || !rec.wrote {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte("internal server error\n"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// observe records metrics and the access log. The route label is the mux
// pattern that matched (set on r by ServeMux), so the label set stays
// bounded whatever paths callers invent.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		code := strconv.Itoa(rec.status)
		s.requests.WithLabelValues(route, r.Method, code).Inc()
		s.latency.WithLabelValues(route, code).Observe(d.Seconds())
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", route), slog.Int("status", rec.status),
				slog.Int64("bytes", rec.bytes), slog.Duration("duration", d),
				slog.String("ip", web.ClientIP(r)))
		}
	})
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush keeps streaming handlers working through the wrapper.
func (r *recorder) Flush() {
	r.wrote = true
	http.NewResponseController(r.ResponseWriter).Flush() //nolint:errcheck // best effort
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
