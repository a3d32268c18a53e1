package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"gatehouse/mail/mailtest"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// INTERFACE.md section 2: every key from the YAML file, and from
// GATEHOUSE_* variables, which win over the file.

// smsHook records what the sms.webhook receives.
type smsHook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []map[string]any
}

func newSMSHook(t testing.TB) *smsHook {
	h := &smsHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		h.mu.Lock()
		h.msgs = append(h.msgs, m)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *smsHook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

// configCheck is what a node's configuration should show from outside.
type configCheck struct {
	issuer     string
	dbPath     string
	redisURL   string
	prefix     string
	inbox      *mailtest.Inbox
	from       string
	hook       *smsHook
	lockout    int
	accessTTL  int64 // seconds
	refreshTTL int64
}

func TestInterfaceConfigFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	smtpAddr, inbox := mailtest.NewServer(t)
	redisURL, prefix := ephemeraltest.Prefix(t)
	hook := newSMSHook(t)
	issuer := fmt.Sprintf("http://localhost:%d", port)
	cfg := ifWriteFile(t, dir, "gatehouse.yaml", fmt.Sprintf(`issuer: %s
listen: "127.0.0.1:%d"
storage:
  dsn: sqlite://file-data/file.db
redis:
  url: %q
  prefix: %q
mail:
  smtp: %q
  from: "File Sender <file@acme.example>"
sms:
  webhook: %s
security:
  lockout_threshold: 2
tokens:
  access_token_ttl: 15m
  refresh_token_ttl: 48h
`, issuer, port, redisURL, prefix, smtpAddr, hook.srv.URL))
	seedPath := ifWriteFile(t, dir, "seed.yaml", ifSeed(ifSeedOptions{}))
	ifLaunch(t, issuer, dir, nil, "serve", "--config", cfg, "--seed", seedPath)
	checkConfig(t, configCheck{issuer: issuer, dbPath: filepath.Join(dir, "file-data", "file.db"),
		redisURL: redisURL, prefix: prefix, inbox: inbox, from: "file@acme.example", hook: hook,
		lockout: 2, accessTTL: 15 * 60, refreshTTL: 48 * 3600})
}

func TestInterfaceConfigEnvironmentWins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	smtpAddr, inbox := mailtest.NewServer(t)
	redisURL, prefix := ephemeraltest.Prefix(t)
	hook := newSMSHook(t)
	issuer := fmt.Sprintf("http://localhost:%d", port)
	// Every key in the file is wrong or different; the environment
	// corrects each one.
	cfg := ifWriteFile(t, dir, "gatehouse.yaml", `issuer: http://file.invalid
listen: "127.0.0.1:1"
storage:
  dsn: sqlite://file-data/file.db
redis:
  url: "redis://127.0.0.1:1/0"
  prefix: "file:"
mail:
  smtp: "127.0.0.1:1"
  from: "File Sender <file@acme.example>"
sms:
  webhook: http://127.0.0.1:1/sms
security:
  lockout_threshold: 9
tokens:
  access_token_ttl: 1h
  refresh_token_ttl: 720h
`)
	env := []string{
		"GATEHOUSE_ISSUER=" + issuer,
		fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", port),
		"GATEHOUSE_STORAGE_DSN=sqlite://env-data/env.db",
		"GATEHOUSE_REDIS_URL=" + redisURL,
		"GATEHOUSE_REDIS_PREFIX=" + prefix,
		"GATEHOUSE_MAIL_SMTP=" + smtpAddr,
		"GATEHOUSE_MAIL_FROM=Env Sender <env@acme.example>",
		"GATEHOUSE_SMS_WEBHOOK=" + hook.srv.URL,
		"GATEHOUSE_SECURITY_LOCKOUT_THRESHOLD=3",
		"GATEHOUSE_TOKENS_ACCESS_TOKEN_TTL=10m",
		"GATEHOUSE_TOKENS_REFRESH_TOKEN_TTL=24h",
	}
	seedPath := ifWriteFile(t, dir, "seed.yaml", ifSeed(ifSeedOptions{}))
	ifLaunch(t, issuer, dir, env, "serve", "--config", cfg, "--seed", seedPath)
	checkConfig(t, configCheck{issuer: issuer, dbPath: filepath.Join(dir, "env-data", "env.db"),
		redisURL: redisURL, prefix: prefix, inbox: inbox, from: "env@acme.example", hook: hook,
		lockout: 3, accessTTL: 10 * 60, refreshTTL: 24 * 3600})
	if _, err := os.Stat(filepath.Join(dir, "file-data")); err == nil {
		t.Errorf("the file's storage.dsn was used although GATEHOUSE_STORAGE_DSN was set")
	}
}

func checkConfig(t *testing.T, c configCheck) {
	t.Run("issuer and listen", func(t *testing.T) {
		var disc map[string]any
		ifGetJSON(t, c.issuer+"/.well-known/openid-configuration", &disc)
		if disc["issuer"] != c.issuer {
			t.Fatalf("issuer %v, want %s", disc["issuer"], c.issuer)
		}
		// Every endpoint hangs off the issuer.
		for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"} {
			if s, _ := disc[k].(string); !strings.HasPrefix(s, c.issuer+"/") {
				t.Errorf("%s %q is not under the issuer", k, s)
			}
		}
	})
	t.Run("storage.dsn", func(t *testing.T) {
		if _, err := os.Stat(c.dbPath); err != nil {
			t.Fatalf("no database at %s: %v", c.dbPath, err)
		}
	})
	t.Run("tokens.access_token_ttl", func(t *testing.T) {
		_, claims := ifJWT(t, ifClientToken(t, c.issuer))
		exp, _ := claims["exp"].(float64)
		iat, _ := claims["iat"].(float64)
		if int64(exp-iat) != c.accessTTL {
			t.Fatalf("access token lives %v s, want %d", exp-iat, c.accessTTL)
		}
	})
	t.Run("tokens.refresh_token_ttl", func(t *testing.T) {
		r := newRP(t, c.issuer, ifConsoleID, ifConsoleSec, ifConsoleRedir, "offline_access")
		tok := ifCode(t, r, newBrowser(t, c.issuer), ifSteps{User: ifAdmin, Pass: ifAdminPass})
		res := ifIntrospect(t, c.issuer, ifAcademyID, ifAcademySec, tok.RefreshToken)
		exp, _ := res["exp"].(float64)
		iat, _ := res["iat"].(float64)
		if d := int64(exp - iat); d < c.refreshTTL-5 || d > c.refreshTTL+5 {
			t.Fatalf("refresh token lives %d s, want %d: %v", d, c.refreshTTL, res)
		}
	})
	t.Run("mail and sms", func(t *testing.T) {
		b := newBrowser(t, c.issuer)
		p := b.get(c.issuer + "/login/forgot")
		b.submit(p, "username", map[string]string{"username": ifFinance})
		m := c.inbox.WaitFor(t, ifFinance)
		if from := m.Header.Get("From"); !strings.Contains(from, c.from) {
			t.Errorf("mail from %q, want %s", from, c.from)
		}

		// A phone for text-message codes, added on the account's
		// security page, gets its code through the webhook.
		p = b.get(c.issuer + "/account")
		p = b.signIn(p, ifOwner, ifOwnerPass)
		sec := b.get(c.issuer + "/account/security")
		p = b.submit(sec, "phone", map[string]string{"phone": "+15555550111"})
		if c.hook.count() != 1 {
			t.Fatalf("the SMS webhook got %d messages after adding a phone (%d at %s):\n%s", c.hook.count(), p.Status, p.URL, p.Body)
		}
	})
	t.Run("redis.url", func(t *testing.T) {
		// A sign-in flow parks its state in the ephemeral store: with
		// redis.url set, under the configured prefix.
		b := newBrowser(t, c.issuer)
		r := newRP(t, c.issuer, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email")
		r.login(b, ifTech, ifTechPass)
		opt, err := redis.ParseURL(c.redisURL)
		if err != nil {
			t.Fatal(err)
		}
		rc := redis.NewClient(opt)
		defer rc.Close()
		// SCAN returns matches batch by batch: walk every batch.
		it := rc.Scan(context.Background(), 0, c.prefix+"*", 1000).Iterator()
		found := it.Next(context.Background())
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Fatalf("nothing in Redis under %s after a sign-in", c.prefix)
		}
	})
	t.Run("security.lockout_threshold", func(t *testing.T) {
		b := newBrowser(t, c.issuer)
		r := newRP(t, c.issuer, ifConsoleID, ifConsoleSec, ifConsoleRedir, "email")
		start := r.conf.AuthCodeURL("state-lockout-0123456789")
		// The threshold's failure locks the account (and may say so); the
		// ones before it do not, and afterwards even the right password
		// meets the lock.
		for i := 0; i < c.lockout; i++ {
			p := b.signIn(b.get(start), ifNoReset, "wrong password "+fmt.Sprint(i))
			if i < c.lockout-1 && strings.Contains(strings.ToLower(p.Body), "locked") {
				t.Fatalf("locked after %d failures, threshold %d", i+1, c.lockout)
			}
		}
		p := b.signIn(b.get(start), ifNoReset, ifNoResetPass)
		if !strings.Contains(strings.ToLower(p.Body), "locked") {
			t.Fatalf("not locked after %d failures (%d at %s):\n%s", c.lockout, p.Status, p.URL, p.Body)
		}
	})
}

// The configuration of section 2 asks nothing of a PostgreSQL deployment
// but storage.dsn: one node runs; a second one with another secret key
// refuses to start rather than fail later.
func TestInterfaceConfigPostgresFromDSNAlone(t *testing.T) {
	t.Parallel()
	dsn := sqltest.PostgresDSN(t)
	dir := t.TempDir()
	port := freePort(t)
	issuer := fmt.Sprintf("http://localhost:%d", port)
	seedPath := ifWriteFile(t, dir, "seed.yaml", ifSeed(ifSeedOptions{}))
	env := []string{"GATEHOUSE_ISSUER=" + issuer, fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", port), "GATEHOUSE_STORAGE_DSN=" + dsn}
	n := ifLaunch(t, issuer, dir, env, "serve", "--seed", seedPath)
	ifSignIn(t, n.URL, ifTech, ifTechPass, "email")
	if !strings.Contains(n.logs.String(), "security.encryption_key") {
		t.Errorf("no warning about the encryption key:\n%s", n.logs)
	}

	other := []string{"GATEHOUSE_ISSUER=" + issuer, fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", freePort(t)), "GATEHOUSE_STORAGE_DSN=" + dsn}
	out, errOut, code := ifRun(t, t.TempDir(), other, "serve")
	if code == 0 {
		t.Fatalf("a node with another key started:\n%s%s", out, errOut)
	}
	if !strings.Contains(errOut, "signing keys") {
		t.Errorf("the refusal does not say what failed:\n%s", errOut)
	}
	t.Logf("the second node said: %s", errOut)
}
