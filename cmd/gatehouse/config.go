package main

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gatehouse/keys"
	"gatehouse/passwords"
	"gatehouse/provider/policy"
)

// Config is the whole configuration (INTERFACE.md section 2). Every leaf
// can be set in the YAML file and overridden by GATEHOUSE_ plus its
// upper-cased path (GATEHOUSE_SECURITY_LOCKOUT_THRESHOLD); the names come
// from the yaml tags, so a new key gets its variable for free.
type Config struct {
	Issuer   string         `yaml:"issuer"`
	Listen   string         `yaml:"listen"`
	Storage  StorageConfig  `yaml:"storage"`
	Redis    RedisConfig    `yaml:"redis"`
	Mail     MailConfig     `yaml:"mail"`
	SMS      SMSConfig      `yaml:"sms"`
	Security SecurityConfig `yaml:"security"`
	Tokens   TokensConfig   `yaml:"tokens"`
	Session  SessionConfig  `yaml:"session"`
	// Federation tunes partners' upstream identity providers.
	Federation FederationConfig `yaml:"federation"`
	// Roles replaces the default role catalogue when set (file only).
	Roles []policy.Role `yaml:"roles"`
	Log   LogConfig     `yaml:"log"`
	Debug DebugConfig   `yaml:"debug"`

	// source names where the configuration came from, for messages.
	source string
}

type StorageConfig struct {
	DSN string `yaml:"dsn"`
}

type RedisConfig struct {
	URL string `yaml:"url"`
	// Prefix starts every key and channel name, so deployments can share
	// one Redis.
	Prefix string `yaml:"prefix"`
}

type MailConfig struct {
	SMTP     string `yaml:"smtp"`
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

type SMSConfig struct {
	Webhook string `yaml:"webhook"`
}

type SecurityConfig struct {
	LockoutThreshold int `yaml:"lockout_threshold"`
	// LockoutDuration 0 locks until an admin unlocks (or the user resets
	// their password, where that is allowed).
	LockoutDuration Duration `yaml:"lockout_duration"`
	// EncryptionKey encrypts secrets at rest; 32 bytes as base64 or hex.
	EncryptionKey string `yaml:"encryption_key"`
	// KeyFile holds the key when EncryptionKey is empty; created on first
	// start. Defaults to secret.key beside the SQLite database.
	KeyFile             string         `yaml:"key_file"`
	Password            PasswordConfig `yaml:"password"`
	MaxConcurrentHashes int            `yaml:"max_concurrent_hashes"`
}

type PasswordConfig struct {
	MemoryKiB   int `yaml:"memory_kib"`
	Iterations  int `yaml:"iterations"`
	Parallelism int `yaml:"parallelism"`
}

type TokensConfig struct {
	AccessTokenTTL  Duration `yaml:"access_token_ttl"`
	RefreshTokenTTL Duration `yaml:"refresh_token_ttl"`
	IDTokenTTL      Duration `yaml:"id_token_ttl"`
}

type SessionConfig struct {
	TTL Duration `yaml:"ttl"`
}

type FederationConfig struct {
	// AllowPrivateUpstreams lets upstream requests reach loopback and
	// private addresses, which are refused by default so that a partner's
	// connection cannot be pointed at the internal network. Development
	// and tests only.
	AllowPrivateUpstreams bool `yaml:"allow_private_upstreams"`
}

type DebugConfig struct {
	// PprofListen serves net/http/pprof on its own address, apart from the
	// public listener; empty (the default) serves nothing.
	PprofListen string `yaml:"pprof_listen"`
}

type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Duration is a time.Duration written as Go writes one ("90s", "1h30m").
type Duration struct{ time.Duration }

// DefaultConfig is what runs with no file and no environment.
func DefaultConfig() Config {
	return Config{
		Issuer:  "http://localhost:8080",
		Listen:  ":8080",
		Storage: StorageConfig{DSN: "sqlite://gatehouse-data/gatehouse.db"},
		Redis:   RedisConfig{Prefix: "gatehouse:"},
		Mail:    MailConfig{From: "Gatehouse <no-reply@localhost>"},
		Security: SecurityConfig{
			LockoutThreshold: 5,
			Password: PasswordConfig{
				MemoryKiB:   int(passwords.DefaultParams.Memory),
				Iterations:  int(passwords.DefaultParams.Iterations),
				Parallelism: int(passwords.DefaultParams.Parallelism),
			},
			MaxConcurrentHashes: runtime.GOMAXPROCS(0),
		},
		Tokens: TokensConfig{
			AccessTokenTTL:  Duration{time.Hour},
			RefreshTokenTTL: Duration{720 * time.Hour},
			IDTokenTTL:      Duration{time.Hour},
		},
		Session: SessionConfig{TTL: Duration{12 * time.Hour}},
		Log:     LogConfig{Level: "info", Format: "text"},
		source:  "defaults",
	}
}

// ConfigError is a configuration that cannot run: every problem found,
// each naming its key.
type ConfigError struct {
	Source   string
	Problems []string
}

func (e *ConfigError) Error() string {
	return "configuration " + e.Source + ": " + strings.Join(e.Problems, "; ")
}

// LoadConfig reads path (none: defaults only), applies the environment
// (environ is os.Environ's shape), and validates the result. Warnings name
// GATEHOUSE_* variables that match no key.
func LoadConfig(path string, environ []string) (cfg *Config, warnings []string, err error) {
	c := DefaultConfig()
	var problems []string
	if path != "" {
		c.source = path
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, &ConfigError{Source: path, Problems: []string{err.Error()}}
		}
		problems = append(problems, decodeYAML(data, &c)...)
	}
	envProblems, applied, unknown := applyEnv(&c, environ)
	problems = append(problems, envProblems...)
	if len(applied) > 0 && path == "" {
		c.source = "(environment)"
	}
	for _, u := range unknown {
		warnings = append(warnings, u+" matches no configuration key; ignored")
	}
	// A key that failed to decode kept its default, so Validate does not
	// report it twice.
	problems = append(problems, c.Validate()...)
	if c.SQLitePath() == "" && c.Security.EncryptionKey == "" && c.Security.KeyFile == "" {
		// INTERFACE.md section 2 asks nothing more of a PostgreSQL
		// deployment than its storage.dsn, so one node runs on a key file
		// of its own; a second node with another key cannot open the
		// signing keys and refuses to start.
		warnings = append(warnings, "security.encryption_key is not set: secrets are sealed with the key in "+
			defaultKeyFile+" (created on first start); every node sharing this database must have the same key, "+
			"so set security.encryption_key (e.g. from `openssl rand -base64 32`) or a shared security.key_file")
	}
	if len(problems) > 0 {
		return nil, warnings, &ConfigError{Source: c.source, Problems: problems}
	}
	return &c, warnings, nil
}

// Validate checks every key and returns one line per problem, each naming
// the key; nil when the configuration can run.
func (c *Config) Validate() []string {
	var p []string
	bad := func(key, format string, args ...any) { p = append(p, key+": "+fmt.Sprintf(format, args...)) }

	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("issuer", "%q is not an http(s) URL", c.Issuer)
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("issuer", "%q must not carry a query, fragment or user information", c.Issuer)
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		bad("listen", "%q is not host:port (such as \":8080\")", c.Listen)
	}

	scheme, rest, _ := strings.Cut(c.Storage.DSN, "://")
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		if rest == "" || strings.ContainsAny(rest, "?#") {
			bad("storage.dsn", "the sqlite path %q must be a plain file path", rest)
		}
	case "postgres", "postgresql":
		if _, err := url.Parse(c.Storage.DSN); err != nil {
			bad("storage.dsn", "is not a URL: %v", err)
		}
	default:
		bad("storage.dsn", "%q: want sqlite://PATH or postgres://...", redactURL(c.Storage.DSN))
	}
	if c.Debug.PprofListen != "" {
		if _, port, err := net.SplitHostPort(c.Debug.PprofListen); err != nil || port == "" {
			bad("debug.pprof_listen", "%q is not host:port (such as \"127.0.0.1:6060\")", c.Debug.PprofListen)
		}
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			bad("redis.url", "%q: want redis://HOST:PORT/DB, rediss://... or unix://...", redactURL(c.Redis.URL))
		}
	}
	if c.Mail.SMTP != "" {
		if _, _, err := net.SplitHostPort(c.Mail.SMTP); err != nil {
			bad("mail.smtp", "%q is not host:port", c.Mail.SMTP)
		}
	}
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		bad("mail.from", "%q is not a mail address: %v", c.Mail.From, err)
	}
	if (c.Mail.Username == "") != (c.Mail.Password == "") {
		bad("mail.password", "mail.username and mail.password go together")
	}
	if c.SMS.Webhook != "" {
		if u, err := url.Parse(c.SMS.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("sms.webhook", "%q is not an http(s) URL", c.SMS.Webhook)
		}
	}

	s := c.Security
	if s.LockoutThreshold < 0 {
		bad("security.lockout_threshold", "must be 0 (never lock) or more, got %d", s.LockoutThreshold)
	}
	if s.LockoutDuration.Duration < 0 {
		bad("security.lockout_duration", "must not be negative")
	}
	if s.EncryptionKey != "" {
		if _, err := keys.ParseKey(s.EncryptionKey); err != nil {
			bad("security.encryption_key", "%v", err)
		}
	}
	pw := s.Password
	if pw.Parallelism < 1 || pw.Parallelism > 255 {
		bad("security.password.parallelism", "must be between 1 and 255, got %d", pw.Parallelism)
	}
	// The upper bounds are those passwords.Verify accepts, so every hash
	// made here can be checked later.
	if pw.MemoryKiB < 8*max(pw.Parallelism, 1) || pw.MemoryKiB > 1<<21 {
		bad("security.password.memory_kib", "must be between 8×parallelism and 2097152 (2 GiB), got %d", pw.MemoryKiB)
	}
	if pw.Iterations < 1 || pw.Iterations > 64 {
		bad("security.password.iterations", "must be between 1 and 64, got %d", pw.Iterations)
	}
	if s.MaxConcurrentHashes < 1 {
		bad("security.max_concurrent_hashes", "must be at least 1, got %d", s.MaxConcurrentHashes)
	}

	for key, d := range map[string]Duration{
		"tokens.access_token_ttl":  c.Tokens.AccessTokenTTL,
		"tokens.refresh_token_ttl": c.Tokens.RefreshTokenTTL,
		"tokens.id_token_ttl":      c.Tokens.IDTokenTTL,
		"session.ttl":              c.Session.TTL,
	} {
		if d.Duration <= 0 {
			bad(key, "must be positive, got %s", d.Duration)
		}
	}
	if len(c.Roles) > 0 {
		if _, err := policy.NewCatalogue(c.Roles); err != nil {
			p = append(p, err.Error())
		}
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	// Map iteration above is unordered; keep messages stable.
	sortProblems(p)
	return p
}

// Catalogue returns the role catalogue the configuration asks for.
func (c *Config) Catalogue() *policy.Catalogue {
	if len(c.Roles) == 0 {
		return policy.DefaultCatalogue()
	}
	cat, err := policy.NewCatalogue(c.Roles)
	if err != nil {
		panic("config: roles passed Validate but not NewCatalogue: " + err.Error())
	}
	return cat
}

// PasswordParams returns the argon2id parameters.
func (c *Config) PasswordParams() passwords.Params {
	p := passwords.DefaultParams
	p.Memory = uint32(c.Security.Password.MemoryKiB)
	p.Iterations = uint32(c.Security.Password.Iterations)
	p.Parallelism = uint8(c.Security.Password.Parallelism)
	return p
}

// SQLitePath returns the database file of a sqlite DSN, "" otherwise.
func (c *Config) SQLitePath() string {
	scheme, rest, _ := strings.Cut(c.Storage.DSN, "://")
	if s := strings.ToLower(scheme); s == "sqlite" || s == "sqlite3" {
		return rest
	}
	return ""
}

// defaultKeyFile holds the key of a PostgreSQL deployment that names none,
// relative to the working directory like the default SQLite database.
const defaultKeyFile = "gatehouse-data/secret.key"

// EncryptionKey returns the key that encrypts secrets at rest: the
// configured one, or the key file's, which is created on first start.
func (c *Config) EncryptionKey() ([]byte, error) {
	if c.Security.EncryptionKey != "" {
		return keys.ParseKey(c.Security.EncryptionKey)
	}
	path := c.Security.KeyFile
	if path == "" {
		path = defaultKeyFile
		if db := c.SQLitePath(); db != "" {
			path = filepath.Join(filepath.Dir(db), "secret.key")
		}
	}
	k, err := keys.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("security.key_file %s: %w", path, err)
	}
	return k, nil
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
