package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigDefaults(t *testing.T) {
	cfg, warnings, err := LoadConfig("", nil)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("LoadConfig() = %v, %v", warnings, err)
	}
	if cfg.Issuer != "http://localhost:8080" || cfg.Listen != ":8080" ||
		cfg.Storage.DSN != "sqlite://gatehouse-data/gatehouse.db" || cfg.Redis.URL != "" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if cfg.Security.LockoutThreshold != 5 || cfg.Security.LockoutDuration.Duration != 0 ||
		cfg.Tokens.AccessTokenTTL.Duration != time.Hour || cfg.Tokens.RefreshTokenTTL.Duration != 720*time.Hour ||
		cfg.Tokens.IDTokenTTL.Duration != time.Hour || cfg.Session.TTL.Duration != 12*time.Hour {
		t.Fatalf("defaults = %+v", cfg)
	}
	if p := cfg.PasswordParams(); p.Memory != 19456 || p.Iterations != 2 || p.Parallelism != 1 {
		t.Fatalf("argon2id defaults = %+v", p)
	}
	if cfg.Security.MaxConcurrentHashes < 1 {
		t.Fatal("max_concurrent_hashes default is not positive")
	}
	if _, ok := cfg.Catalogue().Lookup("owner"); !ok {
		t.Fatal("default catalogue lacks owner")
	}
}

func TestConfigFileThenEnvironment(t *testing.T) {
	path := writeConfig(t, `
issuer: https://id.example.com/
listen: "127.0.0.1:9090"
storage:
  dsn: sqlite:///var/lib/gatehouse/db.sqlite
security:
  lockout_threshold: 3
  lockout_duration: 15m
  password:
    memory_kib: 65536
tokens:
  access_token_ttl: 10m
roles:
  - {name: owner, rank: 100}
  - {name: helper, rank: 10, manages_nobody: true}
log:
  format: json
`)
	cfg, _, err := LoadConfig(path, []string{
		"GATEHOUSE_SECURITY_LOCKOUT_THRESHOLD=7",
		"GATEHOUSE_TOKENS_ACCESS_TOKEN_TTL=5m",
		"GATEHOUSE_REDIS_URL=redis://127.0.0.1:6379/2",
		"GATEHOUSE_TEST_POSTGRES=postgres://ignored", // the test suite's, not a key
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != "https://id.example.com" {
		t.Errorf("issuer = %q, want the trailing slash trimmed", cfg.Issuer)
	}
	if cfg.Security.LockoutThreshold != 7 || cfg.Tokens.AccessTokenTTL.Duration != 5*time.Minute {
		t.Errorf("the environment did not win: %+v %+v", cfg.Security, cfg.Tokens)
	}
	if cfg.Security.LockoutDuration.Duration != 15*time.Minute || cfg.PasswordParams().Memory != 65536 ||
		cfg.Redis.URL != "redis://127.0.0.1:6379/2" || cfg.Log.Format != "json" {
		t.Errorf("file values lost: %+v", cfg)
	}
	if cfg.Tokens.RefreshTokenTTL.Duration != 720*time.Hour {
		t.Error("a key absent from the file lost its default")
	}
	if _, ok := cfg.Catalogue().Lookup("helper"); !ok {
		t.Error("roles from the file were not used")
	}
	if got := cfg.SQLitePath(); got != "/var/lib/gatehouse/db.sqlite" {
		t.Errorf("SQLitePath = %q", got)
	}
}

func TestConfigProblemsNameTheKey(t *testing.T) {
	cases := []struct {
		name, file string
		env        []string
		want       []string
	}{
		{"bad duration", "tokens:\n  access_token_ttl: abc\n", nil,
			[]string{`tokens.access_token_ttl: "abc" is not a duration`}},
		{"unknown key", "security:\n  lockout_treshold: 3\n", nil,
			[]string{`security.lockout_treshold: unknown key (line 2)`}},
		{"not a number", "security:\n  lockout_threshold: many\n", nil,
			[]string{`security.lockout_threshold: "many" is not a whole number`}},
		{"bad environment value", "", []string{"GATEHOUSE_SECURITY_LOCKOUT_THRESHOLD=lots"},
			[]string{`security.lockout_threshold (from GATEHOUSE_SECURITY_LOCKOUT_THRESHOLD): "lots" is not a whole number`}},
		{"every problem at once", "issuer: ftp://x\nlisten: nowhere\nstorage:\n  dsn: mysql://x\nlog:\n  level: loud\n", nil,
			[]string{"issuer: ", "listen: ", "storage.dsn: ", "log.level: "}},
		{"bad encryption key", "security:\n  encryption_key: short\n", nil,
			[]string{"security.encryption_key: must be 32 bytes"}},
		{"argon2id out of range", "security:\n  password:\n    iterations: 0\n    memory_kib: 4\n", nil,
			[]string{"security.password.iterations: ", "security.password.memory_kib: "}},
		{"profiler address", "debug:\n  pprof_listen: localhost\n", nil, []string{"debug.pprof_listen: "}},
		{"negative ttl", "session:\n  ttl: -1h\n", nil, []string{"session.ttl: must be positive"}},
		{"roles without owner", "roles:\n  - {name: boss, rank: 1}\n", nil, []string{`roles: the catalogue must contain "owner"`}},
		{"a list where a value goes", "listen: [a, b]\n", nil, []string{"listen: want a single value"}},
		{"a value where a mapping goes", "security: strict\n", nil, []string{"security: want a mapping"}},
		{"yaml syntax", "issuer: [\n", nil, []string{"line"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.file != "" {
				path = writeConfig(t, c.file)
			}
			_, _, err := LoadConfig(path, c.env)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("LoadConfig = %v, want *ConfigError", err)
			}
			if path != "" && !strings.Contains(err.Error(), path) {
				t.Errorf("%q does not name the file", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConfigWarnsOfUnknownVariables(t *testing.T) {
	_, warnings, err := LoadConfig("", []string{"GATEHOUSE_STORAGE_DNS=sqlite://x.db"})
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "GATEHOUSE_STORAGE_DNS") {
		t.Fatalf("warnings = %v, %v", warnings, err)
	}
}

// INTERFACE.md section 2 asks only for storage.dsn: PostgreSQL without a
// key runs on a key file in the working directory, with a warning.
func TestPostgresWithoutAKeyWarns(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, warnings, err := LoadConfig("", []string{"GATEHOUSE_STORAGE_DSN=postgres://u@127.0.0.1/db"})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "security.encryption_key") {
		t.Fatalf("warnings = %v", warnings)
	}
	if _, err := cfg.EncryptionKey(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data", "secret.key")); err != nil {
		t.Fatalf("no key file under gatehouse-data/: %v", err)
	}
	_, warnings, _ = LoadConfig("", []string{"GATEHOUSE_STORAGE_DSN=postgres://u@127.0.0.1/db",
		"GATEHOUSE_SECURITY_ENCRYPTION_KEY=" + strings.Repeat("A", 43) + "="})
	if len(warnings) != 0 {
		t.Fatalf("warnings with a key: %v", warnings)
	}
}

func TestEncryptionKeyFileBesideTheDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg, _, err := LoadConfig("", []string{"GATEHOUSE_STORAGE_DSN=sqlite://" + filepath.Join(dir, "db", "g.db")})
	if err != nil {
		t.Fatal(err)
	}
	k1, err := cfg.EncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "db", "secret.key")); err != nil {
		t.Fatalf("no key file beside the database: %v", err)
	}
	k2, _ := cfg.EncryptionKey()
	if string(k1) != string(k2) {
		t.Fatal("the key file gave another key on the second read")
	}
}

// TestREADMEDocumentsEveryKey keeps the configuration reference honest.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range append(ConfigKeys(), "roles") {
		if !strings.Contains(string(readme), "`"+key+"`") {
			t.Errorf("README.md does not document `%s`", key)
		}
		if key != "roles" && !strings.Contains(string(readme), EnvName(key)) {
			t.Errorf("README.md does not name %s", EnvName(key))
		}
	}
}
