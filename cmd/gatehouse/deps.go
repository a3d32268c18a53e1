package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gatehouse/clients"
	"gatehouse/keys"
	"gatehouse/mail"
	"gatehouse/passwords"
	"gatehouse/provider/policy"
	"gatehouse/seed"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral"
	sqlstore "gatehouse/storage/sql"
)

// Deps are the dependencies the subsystems share, built once at start.
// Subsystems take the fields they need as explicit fields of their own
// configuration structs; none of them is handed Deps itself.
type Deps struct {
	Config *Config
	Logger *slog.Logger
	Now    func() time.Time

	Store     *sqlstore.DB      // durable: SQLite or PostgreSQL, migrated
	Ephemeral storage.Ephemeral // Redis, or in process when redis.url is empty
	Box       *keys.Box         // encrypts secrets at rest
	Keys      *keys.Manager     // signing keys, loaded, with an active key per algorithm
	Clients   *clients.Registry // OIDC clients and SAML service providers, cached
	Roles     *policy.Catalogue
	Passwords passwords.Params
	Metrics   *prometheus.Registry
	// Mail delivers through mail.smtp from a retrying queue, or writes to
	// the log when no server is configured.
	Mail mail.Sender

	mailQueue *mail.Queue // closed, and drained, by Close

	// Timings records how long each start-up step took, for the ready log.
	Timings []slog.Attr
}

// openDeps opens the stores, migrates, and loads the keys. On error,
// whatever was opened is closed.
func openDeps(ctx context.Context, cfg *Config, logger *slog.Logger, now func() time.Time) (*Deps, error) {
	d := &Deps{
		Config:    cfg,
		Logger:    logger,
		Now:       now,
		Roles:     cfg.Catalogue(),
		Passwords: cfg.PasswordParams(),
		Metrics:   prometheus.NewRegistry(),
	}
	opened := false
	defer func() {
		if !opened {
			d.Close()
		}
	}()
	step := func(name string, t time.Time) {
		d.Timings = append(d.Timings, slog.Duration(name, time.Since(t).Round(time.Microsecond)))
	}

	var err error
	t := time.Now()
	if d.Store, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	step("database", t)

	t = time.Now()
	// Through a local: a failed Open may return a typed nil that would
	// look like a store to Close.
	eph, err := ephemeral.Open(ctx, cfg.Redis.URL, cfg.Redis.Prefix)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	d.Ephemeral = eph
	step("ephemeral", t)

	t = time.Now()
	if d.Box, err = openBox(cfg); err != nil {
		return nil, err
	}
	d.Keys = newKeyManager(d.Store, d.Box, cfg, logger, now)
	if err := d.Keys.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	step("keys", t)

	d.Clients = clients.NewRegistry(d.Store, d.Ephemeral, 30*time.Second, now)

	if cfg.Mail.SMTP == "" {
		d.Mail = mail.NewLog(logger)
	} else {
		smtp, err := mail.NewSMTP(mail.SMTPConfig{Addr: cfg.Mail.SMTP, From: cfg.Mail.From,
			Username: cfg.Mail.Username, Password: cfg.Mail.Password, Now: now})
		if err != nil {
			return nil, err
		}
		d.mailQueue = mail.NewQueue(smtp, logger)
		d.Mail = d.mailQueue
	}
	opened = true
	return d, nil
}

// mailDrain bounds how long Close waits for queued mail at shutdown.
const mailDrain = 10 * time.Second

// Close delivers the mail still queued (for a while), then releases the
// stores.
func (d *Deps) Close() error {
	var errs []error
	if d.mailQueue != nil {
		ctx, cancel := context.WithTimeout(context.Background(), mailDrain)
		errs = append(errs, d.mailQueue.Close(ctx))
		cancel()
	}
	if d.Ephemeral != nil {
		errs = append(errs, d.Ephemeral.Close())
	}
	if d.Store != nil {
		errs = append(errs, d.Store.Close())
	}
	return errors.Join(errs...)
}

// openStore opens the durable store and applies the migrations.
func openStore(ctx context.Context, cfg *Config) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, cfg.Storage.DSN)
	if err != nil {
		return nil, fmt.Errorf("storage.dsn: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: migrate: %w", err)
	}
	return db, nil
}

func openBox(cfg *Config) (*keys.Box, error) {
	key, err := cfg.EncryptionKey()
	if err != nil {
		return nil, err
	}
	return keys.NewBox(key)
}

func newKeyManager(store storage.Keys, box *keys.Box, cfg *Config, logger *slog.Logger, now func() time.Time) *keys.Manager {
	// A retired key keeps verifying for as long as anything it signed can
	// be presented: the longest token lifetime.
	retire := max(cfg.Tokens.RefreshTokenTTL.Duration, cfg.Tokens.AccessTokenTTL.Duration, cfg.Tokens.IDTokenTTL.Duration)
	return keys.NewManager(store, box, keys.Options{Now: now, Logger: logger, RetireAfter: retire})
}

// applySeed applies one seed file and logs what changed.
func (d *Deps) applySeed(ctx context.Context, f *seed.File) (seed.Result, error) {
	a := &seed.Applier{Store: d.Store, Box: d.Box, Params: d.Passwords, Roles: d.Roles, Now: d.Now}
	res, err := a.Apply(ctx, f)
	if err != nil {
		return res, err
	}
	if res.Changed() > 0 {
		// Relying parties may have changed: drop every node's cache.
		if err := d.Clients.Changed(ctx); err != nil {
			d.Logger.Warn("could not announce relying-party changes", "err", err)
		}
	}
	d.Logger.Info("seed applied", "file", f.Path, "created", res.Created, "updated", res.Updated, "unchanged", res.Unchanged)
	return res, nil
}

// newLogger builds the process logger from the log section.
func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
