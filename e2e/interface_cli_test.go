package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// INTERFACE.md section 1: the command line.

// ifRun runs a one-shot gatehouse command and returns what it printed
// and its exit status. env replaces the process environment's GATEHOUSE_*
// variables entirely.
func ifRun(t testing.TB, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(ifCleanEnv(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("gatehouse %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// ifCleanEnv is the process environment without any GATEHOUSE_* setting.
func ifCleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			out = append(out, kv)
		}
	}
	return out
}

func TestInterfaceCLIVersion(t *testing.T) {
	t.Parallel()
	out, errOut, code := ifRun(t, t.TempDir(), nil, "version")
	if code != 0 || !strings.Contains(out, "gatehouse") {
		t.Fatalf("version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// With no configuration at all: issuer http://localhost:8080, listening on
// :8080, SQLite under ./gatehouse-data/, no Redis.
func TestInterfaceCLIZeroConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var env []string
	url := "http://localhost:8080"
	// The machine's port 8080 may be taken by something else; then only
	// the listen address is moved, and every other default still holds.
	if ln, err := net.Listen("tcp", ":8080"); err != nil {
		port := freePort(t)
		env = []string{fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", port)}
		url = fmt.Sprintf("http://localhost:%d", port)
		t.Logf("port 8080 is taken (%v); listening on %s instead", err, url)
	} else {
		ln.Close()
	}
	// A seed is an argument, not configuration: it gives the node someone
	// to mail.
	seedPath := ifWriteFile(t, dir, "seed.yaml", ifSeed(ifSeedOptions{}))
	n := ifLaunch(t, url, dir, env, "serve", "--seed", seedPath)

	var disc struct {
		Issuer string `json:"issuer"`
	}
	ifGetJSON(t, url+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != "http://localhost:8080" {
		t.Errorf("default issuer %q, want http://localhost:8080", disc.Issuer)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data", "gatehouse.db")); err != nil {
		t.Errorf("no SQLite database under ./gatehouse-data/: %v", err)
	}

	// No SMTP server: mail is written to the log.
	b := newBrowser(t, url)
	b.submit(b.get(url+"/login/forgot"), "username", map[string]string{"username": ifFinance})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(n.logs.String(), ifFinance) || !strings.Contains(n.logs.String(), "mail") {
		if time.Now().After(deadline) {
			t.Fatalf("the reset mail was not written to the log:\n%s", n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ifGetJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func TestInterfaceCLIMigrateApplyKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := ifWriteFile(t, dir, "gatehouse.yaml", "storage:\n  dsn: sqlite://data/gh.db\n")
	seedPath := ifWriteFile(t, dir, "seed.yaml", ifSeed(ifSeedOptions{}))

	t.Run("migrate", func(t *testing.T) {
		out, errOut, code := ifRun(t, dir, nil, "migrate", "--config", cfg)
		if code != 0 {
			t.Fatalf("migrate: exit %d: %s%s", code, out, errOut)
		}
		// A relative SQLite path is relative to the working directory.
		if _, err := os.Stat(filepath.Join(dir, "data", "gh.db")); err != nil {
			t.Fatalf("migrate made no database at data/gh.db: %v", err)
		}
		if _, _, code := ifRun(t, dir, nil, "migrate", "--config", cfg); code != 0 {
			t.Fatalf("a second migrate: exit %d", code)
		}
	})

	t.Run("apply twice", func(t *testing.T) {
		first, errOut, code := ifRun(t, dir, nil, "apply", "--seed", seedPath, "--config", cfg)
		if code != 0 {
			t.Fatalf("apply: exit %d: %s%s", code, first, errOut)
		}
		second, errOut, code := ifRun(t, dir, nil, "apply", "--config", cfg, "--seed", seedPath)
		if code != 0 {
			t.Fatalf("second apply: exit %d: %s%s", code, second, errOut)
		}
		if !strings.Contains(second, "0 created, 0 updated") {
			t.Fatalf("a second apply changed something: %s", second)
		}
	})

	t.Run("keys rotate", func(t *testing.T) {
		env := []string{"GATEHOUSE_STORAGE_DSN=sqlite://data/gh.db"}
		port := freePort(t)
		n := ifStartNodeOn(t, port, nodeOptions{Dir: dir, Env: env})
		before := ifJWKSKids(t, n.URL)
		oldTok := ifClientToken(t, n.URL)
		n.stop()

		out, errOut, code := ifRun(t, dir, nil, "keys", "rotate", "--config", cfg)
		if code != 0 {
			t.Fatalf("keys rotate: exit %d: %s%s", code, out, errOut)
		}
		n = ifStartNodeOn(t, port, nodeOptions{Dir: dir, Env: env})
		after := ifJWKSKids(t, n.URL)
		for kid := range before {
			if !after[kid] {
				t.Errorf("key %s left the JWKS at rotation; tokens it signed are still live", kid)
			}
		}
		if len(after) <= len(before) {
			t.Fatalf("no new key after rotation: before %v, after %v", before, after)
		}
		h, _ := ifJWT(t, ifClientToken(t, n.URL))
		if before[h["kid"].(string)] {
			t.Errorf("a token after rotation is signed with an old key %v", h["kid"])
		}
		oh, _ := ifJWT(t, oldTok)
		if !after[oh["kid"].(string)] {
			t.Errorf("the key of a live token is gone")
		}
	})
}

func ifJWKSKids(t testing.TB, issuer string) map[string]bool {
	t.Helper()
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	ifGetJSON(t, issuer+"/.well-known/jwks.json", &jwks)
	out := map[string]bool{}
	for _, k := range jwks.Keys {
		out[k.Kid] = true
	}
	return out
}

func ifClientToken(t testing.TB, issuer string) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: ifConsoleID, ClientSecret: ifConsoleSec, TokenURL: issuer + "/oauth2/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	return tok.AccessToken
}

// Bad configuration or a bad seed ends the process with a non-zero status
// and one message naming the file, the entry and the field.
func TestInterfaceCLIRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badCfg := ifWriteFile(t, dir, "bad.yaml", "security:\n  lockout_threshold: many\n")
	unknownKey := ifWriteFile(t, dir, "typo.yaml", "tokens:\n  acces_token_ttl: 1h\n")
	badSeed := ifWriteFile(t, dir, "bad-seed.yaml", `partners:
  - id: acme
    name: Acme MSP
    domain: acme.example
users:
  - email: zed@acme.example
    partner: nobody
    kind: employee
    role: admin
    name: Zed
`)
	cases := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"serve with bad config", []string{"serve", "--config", badCfg}, []string{"bad.yaml", "security.lockout_threshold"}},
		{"migrate with bad config", []string{"migrate", "--config", badCfg}, []string{"bad.yaml", "security.lockout_threshold"}},
		{"unknown key", []string{"serve", "--config", unknownKey}, []string{"typo.yaml", "tokens.acces_token_ttl"}},
		{"serve with bad seed", []string{"serve", "--seed", badSeed}, []string{"bad-seed.yaml", "users[0]", "zed@acme.example", "partner"}},
		{"apply bad seed", []string{"apply", "--seed", badSeed}, []string{"bad-seed.yaml", "users[0]", "partner"}},
		{"missing seed", []string{"apply", "--seed", filepath.Join(dir, "absent.yaml")}, []string{"absent.yaml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := []string{fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", freePort(t))}
			out, errOut, code := ifRun(t, dir, env, c.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q stderr %q", out, errOut)
			}
			msg := out + errOut
			for _, w := range c.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("message does not name %q:\n%s", w, msg)
				}
			}
		})
	}
}

// serve applies every --seed file before it listens, and --demo prints the
// sign-in URL and the demo credentials.
func TestInterfaceCLIServeSeedsAndDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	extra := ifWriteFile(t, dir, "extra.yaml", `users:
  - email: extra@acme.example
    partner: acme
    kind: employee
    role: tech
    name: Extra Person
    password: "extra-plum-harbor-19"
`)
	base := ifWriteFile(t, dir, "base.yaml", ifSeed(ifSeedOptions{}))
	n := ifStartNodeOn(t, freePort(t), nodeOptions{Dir: dir, Args: []string{"--seed", base, "--seed", extra, "--demo"}})
	out := n.logs.String()
	for _, w := range []string{n.URL, ownerEmail, ownerPassword} {
		if !strings.Contains(out, w) {
			t.Errorf("--demo did not print %q:\n%s", w, out)
		}
	}
	// The second seed's user, which needs the first seed's partner, signs in.
	ifSignIn(t, n.URL, "extra@acme.example", "extra-plum-harbor-19", "email")
}
