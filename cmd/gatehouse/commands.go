package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"gatehouse/keys"
	"gatehouse/seed"
	"gatehouse/storage/ephemeral"
)

// configFlags parses the flags every one-shot command shares and loads the
// configuration.
func (c *cli) configFlags(name string, args []string, extra func(*flag.FlagSet)) (*Config, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	configPath := fs.String("config", "", "configuration `file` (YAML)")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, exitUsage
	}
	if fs.NArg() > 0 {
		return nil, c.fail(name, &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))})
	}
	cfg, warnings, err := LoadConfig(*configPath, c.environ)
	if err != nil {
		return nil, c.fail(name, err)
	}
	for _, w := range warnings {
		fmt.Fprintf(c.stderr, "gatehouse %s: warning: %s\n", name, w)
	}
	return cfg, exitOK
}

// migrate applies the database migrations and exits.
func (c *cli) migrate(ctx context.Context, args []string) int {
	cfg, code := c.configFlags("migrate", args, nil)
	if cfg == nil {
		return code
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return c.fail("migrate", err)
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return c.fail("migrate", err)
	}
	fmt.Fprintf(c.stdout, "database %s is at schema version %d\n", db.Flavor(), v)
	return exitOK
}

// apply applies one seed file idempotently and exits.
func (c *cli) apply(ctx context.Context, args []string) int {
	var path string
	cfg, code := c.configFlags("apply", args, func(fs *flag.FlagSet) {
		fs.StringVar(&path, "seed", "", "seed `file` to apply")
	})
	if cfg == nil {
		return code
	}
	if path == "" {
		return c.fail("apply", &usageError{"--seed FILE is required"})
	}
	f, err := seed.Load(path)
	if err != nil {
		return c.fail("apply", err)
	}
	logger := newLogger(cfg.Log, c.stderr)
	deps, err := openDeps(ctx, cfg, logger, c.now)
	if err != nil {
		return c.fail("apply", err)
	}
	defer deps.Close()
	res, err := deps.applySeed(ctx, f)
	if err != nil {
		return c.fail("apply", err)
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", path, res)
	return exitOK
}

// keysRotate adds a new active signing key per algorithm and tells running
// nodes to reload; the old keys keep verifying until they expire.
func (c *cli) keysRotate(ctx context.Context, args []string) int {
	cfg, code := c.configFlags("keys rotate", args, nil)
	if cfg == nil {
		return code
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return c.fail("keys rotate", err)
	}
	defer db.Close()
	box, err := openBox(cfg)
	if err != nil {
		return c.fail("keys rotate", err)
	}
	m := newKeyManager(db, box, cfg, newLogger(cfg.Log, c.stderr), c.now)
	if err := m.Rotate(ctx); err != nil {
		return c.fail("keys rotate", err)
	}
	for _, alg := range keys.Algorithms {
		if k, err := m.Active(alg); err == nil {
			fmt.Fprintf(c.stdout, "active %s key: %s\n", alg, k.ID)
		}
	}
	fmt.Fprintf(c.stdout, "%d keys in the JWKS\n", len(m.All()))

	// Nodes sharing Redis reload at once; the others within keyReload.
	if cfg.Redis.URL != "" {
		eph, err := ephemeral.Open(ctx, cfg.Redis.URL, cfg.Redis.Prefix)
		if err == nil {
			err = errors.Join(eph.Publish(ctx, keys.Channel, "rotated"), eph.Close())
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "gatehouse keys rotate: warning: could not notify running nodes (they reload within %s): %v\n", keyReload, err)
		}
	}
	return exitOK
}

// healthcheck asks a running server whether it is ready: for container
// health checks on images that have no curl.
func (c *cli) healthcheck(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "`URL` to ask")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return c.fail("healthcheck", &usageError{err.Error()})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c.fail("healthcheck", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return c.fail("healthcheck", fmt.Errorf("%s answered %d: %s", *url, resp.StatusCode, body))
	}
	return exitOK
}

func isSeedError(err error) bool {
	var se *seed.Error
	return errors.As(err, &se)
}
