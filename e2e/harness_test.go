package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// binary is the gatehouse command built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", binary, "gatehouse/cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gatehouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logBuffer collects a node's output for the failure message.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node is one running `gatehouse serve`.
type node struct {
	URL  string // where this node listens (not the issuer, when behind a proxy)
	cmd  *exec.Cmd
	logs *logBuffer
	done chan struct{}
}

// nodeOptions configure a node.
type nodeOptions struct {
	Issuer string   // defaults to the node's own URL
	Env    []string // GATEHOUSE_* settings
	Args   []string // extra serve arguments (--demo, --seed FILE)
	Dir    string   // working directory; a fresh one when empty
}

// startNode starts `gatehouse serve` and waits until /readyz answers.
func startNode(t testing.TB, o nodeOptions) *node {
	t.Helper()
	port := freePort(t)
	self := fmt.Sprintf("http://localhost:%d", port)
	if o.Issuer == "" {
		o.Issuer = self
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	n := &node{URL: self, logs: &logBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(binary, append([]string{"serve"}, o.Args...)...)
	n.cmd.Dir = o.Dir
	n.cmd.Env = append(os.Environ(),
		"GATEHOUSE_ISSUER="+o.Issuer,
		fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", port),
		"GATEHOUSE_LOG_LEVEL=warn",
	)
	n.cmd.Env = append(n.cmd.Env, o.Env...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting gatehouse: %v", err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("gatehouse on %s said:\n%s", n.URL, n.logs)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		select {
		case <-n.done:
			t.Fatalf("gatehouse exited before it was ready:\n%s", n.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse not ready after 30s:\n%s", n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the node with SIGTERM, as an orchestrator would.
func (n *node) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(25 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// run runs a one-shot gatehouse command (apply, keys rotate) to completion.
func run(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GATEHOUSE_LOG_LEVEL=warn"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cluster is several nodes on one PostgreSQL schema and one Redis prefix,
// behind a proxy at the issuer URL that the test steers: every request
// goes to the node Route named, so a test can start a flow on one node and
// finish it on another.
type cluster struct {
	Issuer string
	Nodes  []*node
	Env    []string // the shared settings, for one-shot commands
	Dir    string
	target atomic.Int32
}

// startCluster starts n nodes on the real PostgreSQL and Redis.
func startCluster(t testing.TB, n int, args ...string) *cluster {
	t.Helper()
	dsn := sqltest.PostgresDSN(t)
	redisURL, prefix := ephemeraltest.Prefix(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c := &cluster{Dir: t.TempDir()}
	c.Env = []string{
		"GATEHOUSE_STORAGE_DSN=" + dsn,
		"GATEHOUSE_REDIS_URL=" + redisURL,
		"GATEHOUSE_REDIS_PREFIX=" + prefix,
		"GATEHOUSE_SECURITY_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(key),
	}
	port := freePort(t)
	c.Issuer = fmt.Sprintf("http://localhost:%d", port)
	// Nodes start one after another: the first migrates and applies any
	// seed; the rest find both done.
	for i := 0; i < n; i++ {
		c.Nodes = append(c.Nodes, startNode(t, nodeOptions{Issuer: c.Issuer, Env: c.Env, Args: args, Dir: c.Dir}))
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			u, _ := url.Parse(c.Nodes[int(c.target.Load())%len(c.Nodes)].URL)
			r.SetURL(u)
			r.Out.Host = r.In.Host // the issuer's host, as a real load balancer keeps it
		},
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return c
}

// Route sends every following request to node i.
func (c *cluster) Route(i int) { c.target.Store(int32(i)) }
