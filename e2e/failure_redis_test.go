package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// redisProc is a redis-server of the test's own, which it may kill and
// start again on the same port without disturbing the shared server.
type redisProc struct {
	port int
	cmd  *exec.Cmd
}

// startRedisProc starts a redis-server without persistence on a free
// port. Without the binary the test skips, or fails under CI=true.
func startRedisProc(t *testing.T) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is required under CI=true")
		}
		t.Skip("redis-server not installed")
	}
	p := &redisProc{port: freePort(t)}
	p.start(t)
	t.Cleanup(p.kill)
	return p
}

func (p *redisProc) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", p.port) }

func (p *redisProc) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(p.port),
		"--save", "", "--appendonly", "no")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 16)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer", p.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the server at once, as a crash would.
func (p *redisProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

// waitReady waits until node i answers /readyz with 200: a wait for a
// recovery, not a timed assertion.
func (f *fleet) waitReady(t *testing.T, i int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequest(http.MethodGet, f.Issuer+"/readyz", nil)
		resp, err := f.client(i).Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d not ready %s after its backend came back", i, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A node whose Redis dies: the flows that need Redis answer 503 with a
// page that says so, what needs no state (discovery, JWKS, a relying
// party's verification of the ID tokens it holds) keeps working, and when
// Redis is back on the same address everything recovers without a restart.
func TestRedisDownAndBack(t *testing.T) {
	t.Parallel()
	rs := startRedisProc(t)
	dir := t.TempDir()
	n := startNode(t, nodeOptions{Dir: dir, Args: []string{"--seed", fleetSeed(t, dir)},
		Env: []string{"GATEHOUSE_REDIS_URL=" + rs.url(), "GATEHOUSE_REDIS_PREFIX=down:"}})
	f := fleetOf(t, n.URL, []*node{n}, nil, dir)
	r := f.rp(t, 0, "offline_access")
	before, _ := f.signIn(t, r, 0, fleetEmail("ana"))

	rs.kill()

	b := f.browser(t, 0)
	authURL := r.conf.AuthCodeURL(fleetState)
	for _, u := range []string{f.Issuer + "/login", authURL} {
		p := b.get(u)
		if p.Status != http.StatusServiceUnavailable {
			t.Errorf("%s with Redis down: %d, want 503:\n%s", u, p.Status, p.Body)
			continue
		}
		if !strings.Contains(strings.ToLower(p.Body), "temporarily unavailable") || !strings.Contains(p.Body, "<html") {
			t.Errorf("%s with Redis down: the 503 page does not say what is wrong:\n%s", u, p.Body)
		}
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json", "/healthz"} {
		req, _ := http.NewRequest(http.MethodGet, f.Issuer+path, nil)
		if s := f.send(t, 0, req, nil); s != http.StatusOK {
			t.Errorf("%s with Redis down: %d, want 200", path, s)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, f.Issuer+"/readyz", nil)
	if s := f.send(t, 0, req, nil); s != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d, want 503", s)
	}
	// The relying party verifies the ID token it holds, with the keys it
	// cached and with keys fetched now.
	if _, err := r.verifier.Verify(context.Background(), before.RawID); err != nil {
		t.Errorf("cached JWKS with Redis down: %v", err)
	}
	if _, err := f.verifierAt(0).Verify(context.Background(), before.RawID); err != nil {
		t.Errorf("JWKS fetched with Redis down: %v", err)
	}
	// What needs Redis on the back channel says it is unavailable rather
	// than that the token is bad.
	status := f.clientPost(t, 0, "/oauth2/introspect", map[string][]string{"token": {before.Token.AccessToken}}, nil)
	if status != http.StatusServiceUnavailable {
		t.Errorf("introspection with Redis down: %d, want 503", status)
	}

	rs.start(t)
	f.waitReady(t, 0, 30*time.Second)
	after, _ := f.signIn(t, r, 0, fleetEmail("ana"))
	if !f.introspect(t, 0, after.Token.AccessToken) {
		t.Error("a token issued after Redis came back is not active")
	}
	// The refresh token lives in SQL: it outlived Redis.
	if _, err := f.refresh(r, 0, before.Token.RefreshToken); err != nil {
		t.Errorf("refresh token from before the outage: %v", err)
	}
}
