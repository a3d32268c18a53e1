package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gatehouse/provider"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// syncBuffer collects log output written from the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestServer builds a server whose backends are real in-process stores,
// lets change adjust the configuration, and serves it through httptest.
func newTestServer(t *testing.T, change func(*provider.ServerConfig), routes ...func(*http.ServeMux)) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := provider.ServerConfig{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:  ephemeraltest.Memory(t),
	}
	if change != nil {
		change(&cfg)
	}
	s := provider.NewServer(cfg)
	for _, r := range routes {
		s.Mount(mountFunc(r))
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, logs
}

type mountFunc func(*http.ServeMux)

func (f mountFunc) Mount(m *http.ServeMux) { f(m) }

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHealthz(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	resp, body := get(t, ts.URL+"/healthz")
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want the page policy", got)
	}
}

func TestReadyz(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		ts, _ := newTestServer(t, func(c *provider.ServerConfig) { c.Ephemeral = ephemeraltest.Redis(t) })
		resp, body := get(t, ts.URL+"/readyz")
		if resp.StatusCode != 200 {
			t.Fatalf("readyz = %d %s", resp.StatusCode, body)
		}
	})
	t.Run("database down", func(t *testing.T) {
		db := sqltest.SQLite(t)
		ts, _ := newTestServer(t, func(c *provider.ServerConfig) { c.Store = db })
		if resp, body := get(t, ts.URL+"/readyz"); resp.StatusCode != 200 {
			t.Fatalf("readyz before close = %d %s", resp.StatusCode, body)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, ts.URL+"/readyz")
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"down":["database"]`) {
			t.Fatalf("readyz = %d %s, want 503 naming the database", resp.StatusCode, body)
		}
	})
	t.Run("ephemeral down", func(t *testing.T) {
		redis := ephemeraltest.Redis(t)
		ts, logs := newTestServer(t, func(c *provider.ServerConfig) { c.Ephemeral = redis })
		if err := redis.Close(); err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, ts.URL+"/readyz")
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz = %d %s, want 503", resp.StatusCode, body)
		}
		var got struct {
			Status string   `json:"status"`
			Down   []string `json:"down"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if got.Status != "unavailable" || len(got.Down) != 1 || got.Down[0] != "ephemeral" {
			t.Fatalf("body = %+v, want ephemeral down", got)
		}
		if !strings.Contains(logs.String(), "readiness check failed") {
			t.Errorf("the failure was not logged: %s", logs)
		}
	})
}

func TestMetricsCountByRoutePattern(t *testing.T) {
	ts, _ := newTestServer(t, nil, func(m *http.ServeMux) {
		m.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		})
	})
	for _, id := range []string{"a", "b", "c"} {
		get(t, ts.URL+"/things/"+id)
	}
	get(t, ts.URL+"/no/such/path")
	_, body := get(t, ts.URL+"/metrics")
	for _, want := range []string{
		`gatehouse_http_requests_total{code="418",method="GET",route="GET /things/{id}"} 3`,
		`gatehouse_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`gatehouse_http_request_duration_seconds_count{code="418",route="GET /things/{id}"} 3`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestStatic(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	resp, body := get(t, ts.URL+"/static/gatehouse.css")
	if resp.StatusCode != 200 || body == "" {
		t.Fatalf("static = %d (%d bytes)", resp.StatusCode, len(body))
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control = %q, want a long max-age", cc)
	}
	if resp, _ := get(t, ts.URL+"/static/"); resp.StatusCode != 404 {
		t.Errorf("directory listing answered %d, want 404", resp.StatusCode)
	}
}

func TestPanicBecomesPlain500(t *testing.T) {
	ts, logs := newTestServer(t, nil, func(m *http.ServeMux) {
		m.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("secret internals") })
	})
	resp, body := get(t, ts.URL+"/boom")
	if resp.StatusCode != 500 {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	if strings.Contains(body, "secret internals") || strings.Contains(body, "goroutine") {
		t.Fatalf("body leaks the panic: %q", body)
	}
	if !strings.Contains(logs.String(), "secret internals") {
		t.Errorf("the panic was not logged")
	}
	// The server lives on.
	if resp, _ := get(t, ts.URL+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz after panic = %d", resp.StatusCode)
	}
}

func TestBodyLimit(t *testing.T) {
	echo := func(m *http.ServeMux) {
		m.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if provider.BodyTooLarge(err) {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
			_, _ = w.Write(b)
		})
	}
	ts, _ := newTestServer(t, func(c *provider.ServerConfig) { c.MaxBodyBytes = 1024 }, echo)

	post := func(body io.Reader) int {
		t.Helper()
		resp, err := http.Post(ts.URL+"/echo", "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(strings.NewReader(strings.Repeat("a", 1024))); got != 200 {
		t.Errorf("body at the limit: %d, want 200", got)
	}
	if got := post(strings.NewReader(strings.Repeat("a", 1025))); got != 413 {
		t.Errorf("declared length over the limit: %d, want 413", got)
	}
	// No Content-Length (chunked): the limit applies while reading.
	if got := post(io.MultiReader(strings.NewReader(strings.Repeat("a", 2048)))); got != 413 {
		t.Errorf("chunked body over the limit: %d, want 413", got)
	}
}

func TestDefaultBodyLimitIsOneMiB(t *testing.T) {
	ts, _ := newTestServer(t, nil, func(m *http.ServeMux) {
		m.HandleFunc("POST /sink", func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	})
	resp, err := http.Post(ts.URL+"/sink", "text/plain", bytes.NewReader(make([]byte, 1<<20+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("1 MiB + 1 byte: %d, want 413", resp.StatusCode)
	}
}

func TestAPIResponsesSkipPageHeaders(t *testing.T) {
	ts, _ := newTestServer(t, nil, func(m *http.ServeMux) {
		m.HandleFunc("GET /api/v1/ping", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) })
	})
	resp, _ := get(t, ts.URL+"/api/v1/ping")
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("API response lacks nosniff")
	}
	if resp.Header.Get("Content-Security-Policy") != "" {
		t.Error("API response carries the page CSP")
	}
}

func TestAccessLogAtDebug(t *testing.T) {
	ts, logs := newTestServer(t, nil)
	get(t, ts.URL+"/healthz")
	if l := logs.String(); !strings.Contains(l, "msg=request") || !strings.Contains(l, `route="GET /healthz"`) {
		t.Fatalf("no access log line: %s", l)
	}
}

// TestGracefulShutdown cancels Serve while a request is in flight: the
// request still gets its answer, and Serve returns only after it.
func TestGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	s := provider.NewServer(provider.ServerConfig{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store:  ephemeraltest.Memory(t),
	})
	s.Mount(mountFunc(func(m *http.ServeMux) {
		m.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			finished.Store(true)
			_, _ = w.Write([]byte("done"))
		})
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b), err}
	}()
	<-entered
	cancel()
	close(release)
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Serve returned before the request in flight finished")
	}
	r := <-got
	if r.err != nil || r.status != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %+v", r)
	}
	// New connections are refused once it has shut down.
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}
