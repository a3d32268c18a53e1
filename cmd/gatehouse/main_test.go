package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/keys"
	"gatehouse/seed"
	"gatehouse/storage/ephemeral/ephemeraltest"
	sqlstore "gatehouse/storage/sql"
)

// The tests run the commands in-process, as main does, in a temporary
// working directory with no configuration file: the zero-configuration
// path an operator gets from `gatehouse serve`.

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

// gatehouse runs one command to completion.
func gatehouse(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	var out, errOut lockedBuffer
	c := &cli{stdout: &out, stderr: &errOut, environ: environ, now: time.Now}
	code := c.run(context.Background(), args)
	return result{code, out.String(), errOut.String()}
}

// server is a `gatehouse serve` running in the background.
type server struct {
	url            string
	stdout, stderr *lockedBuffer
	stop           func() int // cancels, as SIGTERM does, and returns the exit status
}

func startServe(t *testing.T, environ []string, args ...string) *server {
	t.Helper()
	s := &server{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	addr := make(chan net.Addr, 1)
	c := &cli{stdout: s.stdout, stderr: s.stderr, now: time.Now,
		environ:   append([]string{"GATEHOUSE_LISTEN=127.0.0.1:0"}, environ...),
		listening: func(a net.Addr) { addr <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- c.run(ctx, append([]string{"serve"}, args...)) }()
	select {
	case a := <-addr:
		s.url = "http://" + a.String()
	case code := <-exited:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s", code, s.stderr)
	}
	var once sync.Once
	code := -1
	s.stop = func() int {
		once.Do(func() { cancel(); code = <-exited })
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeWithNoConfiguration(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := startServe(t, nil)
	if code, body := getStatus(t, s.url+"/healthz"); code != 200 || body != "ok" {
		t.Fatalf("healthz = %d %q", code, body)
	}
	if code, body := getStatus(t, s.url+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d %s", code, body)
	}
	if code, _ := getStatus(t, s.url+"/metrics"); code != 200 {
		t.Fatalf("metrics = %d", code)
	}
	if !strings.Contains(s.stderr.String(), "msg=ready") || !strings.Contains(s.stderr.String(), "startup=") {
		t.Errorf("no ready line with the start-up time:\n%s", s.stderr)
	}
	for _, f := range []string{"gatehouse-data/gatehouse.db", "gatehouse-data/secret.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s was not created: %v", f, err)
		}
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited with %d after cancel:\n%s", code, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("no clean stop logged:\n%s", s.stderr)
	}
}

func TestServeDemoWithRedis(t *testing.T) {
	t.Chdir(t.TempDir())
	_ = ephemeraltest.Redis(t) // skips, or fails under CI, when Redis is absent
	prefix := "gatehouse-test-cmd:" + time.Now().Format("150405.000000") + ":"
	s := startServe(t, []string{"GATEHOUSE_REDIS_URL=" + ephemeraltest.RedisURL(), "GATEHOUSE_REDIS_PREFIX=" + prefix}, "--demo")
	if code, body := getStatus(t, s.url+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d %s", code, body)
	}
	out := s.stdout.String()
	if !strings.Contains(out, "http://localhost:8080/account") {
		t.Errorf("demo output lacks the sign-in URL:\n%s", out)
	}
	for _, c := range seed.Credentials(seed.Demo()) {
		if !strings.Contains(out, c.Login) || !strings.Contains(out, c.Password) {
			t.Errorf("demo output lacks %s and its password:\n%s", c.Login, out)
		}
	}
	// A second start applies the demo again and changes nothing.
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
	s2 := startServe(t, nil, "--demo")
	if !strings.Contains(s2.stderr.String(), "created=0 updated=0") {
		t.Errorf("the second demo start changed records:\n%s", s2.stderr)
	}
}

func TestBadConfigurationEndsWithTheKey(t *testing.T) {
	t.Chdir(t.TempDir())
	path := writeConfig(t, "tokens:\n  access_token_ttl: abc\n")
	r := gatehouse(t, nil, "serve", "--config", path)
	if r.code != exitUsage {
		t.Fatalf("exit = %d, want %d", r.code, exitUsage)
	}
	if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, `tokens.access_token_ttl: "abc" is not a duration`) {
		t.Fatalf("message does not name the file and key:\n%s", r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("want one line, got %d:\n%s", n+1, r.stderr)
	}

	r = gatehouse(t, []string{"GATEHOUSE_LISTEN=nowhere"}, "serve")
	if r.code != exitUsage || !strings.Contains(r.stderr, "listen: ") {
		t.Fatalf("bad environment: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat("gatehouse-data"); err == nil {
		t.Error("a refused configuration still created the data directory")
	}
}

func TestBadSeedEndsServeBeforeListening(t *testing.T) {
	t.Chdir(t.TempDir())
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("users:\n  - email: x@y.example\n    partner: nope\n    kind: employee\n    role: admin\n"), 0o600)
	r := gatehouse(t, []string{"GATEHOUSE_LISTEN=127.0.0.1:0"}, "serve", "--seed", path)
	if r.code != exitUsage || !strings.Contains(r.stderr, path+`: users[0] (email x@y.example): field partner: unknown partner "nope"`) {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

func TestApplyTwice(t *testing.T) {
	t.Chdir(t.TempDir())
	path := filepath.Join(t.TempDir(), "seed.yaml")
	body := `partners:
  - id: beta
    domain: beta.example
users:
  - email: boss@beta.example
    partner: beta
    kind: employee
    role: owner
    password: "boss-password-for-tests"
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// Cheap hashing: the command is under test, not argon2id.
	env := []string{"GATEHOUSE_SECURITY_PASSWORD_MEMORY_KIB=64", "GATEHOUSE_SECURITY_PASSWORD_ITERATIONS=1"}
	first := gatehouse(t, env, "apply", "--seed", path)
	if first.code != 0 || !strings.Contains(first.stdout, "2 created, 0 updated, 0 unchanged") {
		t.Fatalf("first apply: %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	second := gatehouse(t, env, "apply", "--seed", path)
	if second.code != 0 || !strings.Contains(second.stdout, "0 created, 0 updated, 2 unchanged") {
		t.Fatalf("second apply: %d\n%s%s", second.code, second.stdout, second.stderr)
	}
	if r := gatehouse(t, env, "apply"); r.code != exitUsage || !strings.Contains(r.stderr, "--seed FILE is required") {
		t.Fatalf("apply without --seed: %d %s", r.code, r.stderr)
	}
}

func TestMigrateAndVersion(t *testing.T) {
	t.Chdir(t.TempDir())
	r := gatehouse(t, nil, "migrate")
	if r.code != 0 || !regexp.MustCompile(`database sqlite is at schema version [1-9]`).MatchString(r.stdout) {
		t.Fatalf("migrate: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := gatehouse(t, nil, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "gatehouse ") {
		t.Fatalf("version: %d %q", r.code, r.stdout)
	}
	if r := gatehouse(t, nil, "frobnicate"); r.code != exitUsage || !strings.Contains(r.stderr, "usage:") {
		t.Fatalf("unknown command: %d %q", r.code, r.stderr)
	}
}

func TestKeysRotate(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if r := gatehouse(t, nil, "apply", "--seed", writeConfig(t, "")); r.code != 0 { // creates the first keys
		t.Fatalf("apply: %d %s", r.code, r.stderr)
	}
	before := loadJWKS(t, dir)
	if len(before) != len(keys.Algorithms) {
		t.Fatalf("first start made %d keys", len(before))
	}
	r := gatehouse(t, nil, "keys", "rotate")
	if r.code != 0 || !strings.Contains(r.stdout, "4 keys in the JWKS") {
		t.Fatalf("keys rotate: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	after := loadJWKS(t, dir)
	if len(after) != 2*len(keys.Algorithms) {
		t.Fatalf("JWKS has %d keys after rotation", len(after))
	}
	for kid := range before {
		if !after[kid] {
			t.Errorf("old key %s left the JWKS", kid)
		}
	}
	if r := gatehouse(t, nil, "keys", "spin"); r.code != exitUsage {
		t.Fatalf("keys spin: %d", r.code)
	}
}

// loadJWKS reads the keys as a starting node would and returns the kids
// its JWKS publishes.
func loadJWKS(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "gatehouse-data", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, err := keys.LoadOrCreateKeyFile(filepath.Join(dir, "gatehouse-data", "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	box, _ := keys.NewBox(key)
	m := keys.NewManager(db, box, keys.Options{})
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range set.Keys {
		out[k.Kid] = true
	}
	return out
}

// TestUnreachableBackendsEndWithTheKey starts with a database or Redis that
// does not answer: the process ends with status 1 and names the key.
func TestUnreachableBackendsEndWithTheKey(t *testing.T) {
	t.Chdir(t.TempDir())
	closed := func() string { // a local port nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"redis", []string{"GATEHOUSE_REDIS_URL=redis://" + closed() + "/0"}, "redis.url: "},
		{"postgres", []string{"GATEHOUSE_STORAGE_DSN=postgres://postgres@" + closed() + "/x?sslmode=disable",
			"GATEHOUSE_SECURITY_ENCRYPTION_KEY=" + strings.Repeat("ab", 32)}, "storage.dsn: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := gatehouse(t, append(c.env, "GATEHOUSE_LISTEN=127.0.0.1:0"), "serve")
			if r.code != exitFailed || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d, want %d naming %q:\n%s", r.code, exitFailed, c.want, r.stderr)
			}
		})
	}
}
