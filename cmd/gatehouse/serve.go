package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"gatehouse/provider"
	"gatehouse/seed"
)

// keyReload is how often a node re-reads the signing keys even when no
// rotation notice arrived (DESIGN.md: nodes pick up a rotation within a
// minute).
const keyReload = 30 * time.Second

// serve: load config → open the durable store and migrate → open the
// ephemeral store → load or create the signing keys → apply seeds → listen.
func (c *cli) serve(ctx context.Context, args []string) int {
	start := time.Now()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	configPath := fs.String("config", "", "configuration `file` (YAML); none: defaults and GATEHOUSE_* variables")
	var seeds stringList
	fs.Var(&seeds, "seed", "seed `file` to apply before listening (repeatable)")
	demo := fs.Bool("demo", false, "apply the built-in demo seed and print the demo credentials")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		return c.fail("serve", &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))})
	}

	cfg, warnings, err := LoadConfig(*configPath, c.environ)
	if err != nil {
		return c.fail("serve", err)
	}
	logger := newLogger(cfg.Log, c.stderr)
	for _, w := range warnings {
		logger.Warn(w)
	}

	// Read every seed file before touching the database, so a typo fails
	// at once.
	var files []*seed.File
	for _, path := range seeds {
		f, err := seed.Load(path)
		if err != nil {
			return c.fail("serve", err)
		}
		files = append(files, f)
	}
	if *demo {
		files = append(files, seed.Demo())
	}

	deps, err := openDeps(ctx, cfg, logger, c.now)
	if err != nil {
		return c.fail("serve", err)
	}
	defer deps.Close()

	t := time.Now()
	for _, f := range files {
		if _, err := deps.applySeed(ctx, f); err != nil {
			return c.fail("serve", err)
		}
	}
	if len(files) > 0 {
		deps.Timings = append(deps.Timings, slog.Duration("seeds", time.Since(t).Round(time.Microsecond)))
		// Hashing the seed's passwords grew the heap by tens of MiB of
		// argon2id memory that an idle node does not need: hand it back now
		// rather than when the scavenger gets round to it.
		debug.FreeOSMemory()
	}

	srv := provider.NewServer(provider.ServerConfig{
		Listen:    cfg.Listen,
		Logger:    logger,
		Store:     deps.Store,
		Ephemeral: deps.Ephemeral,
		Metrics:   deps.Metrics,
	})
	sys, err := wire(deps)
	if err != nil {
		return c.fail("serve", err)
	}
	for _, m := range sys.mounters {
		srv.Mount(m)
	}
	// After the server stops taking requests: let the work requests
	// started in the background (back-channel logouts) finish.
	defer sys.stop()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return c.fail("serve", fmt.Errorf("listen: %w", err))
	}

	if cfg.Debug.PprofListen != "" {
		stopPprof, err := servePprof(cfg.Debug.PprofListen, logger)
		if err != nil {
			_ = ln.Close()
			return c.fail("serve", err)
		}
		defer stopPprof()
	}

	// Background work stops before the stores close.
	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); deps.Keys.Watch(bg, deps.Ephemeral, keyReload) }()
	go func() { defer wg.Done(); deps.Clients.Watch(bg) }()
	for _, run := range sys.background {
		wg.Add(1)
		go func() { defer wg.Done(); run(bg) }()
	}
	defer func() { stopBG(); wg.Wait() }()

	attrs := []any{"issuer", cfg.Issuer, "addr", ln.Addr().String(),
		"startup", time.Since(start).Round(time.Microsecond).String()}
	for _, a := range deps.Timings {
		attrs = append(attrs, a)
	}
	logger.Info("ready", attrs...)
	if *demo {
		printDemo(c.stdout, cfg.Issuer)
	}
	if c.listening != nil {
		c.listening(ln.Addr())
	}

	if err := srv.Serve(ctx, ln); err != nil {
		return c.fail("serve", err)
	}
	logger.Info("stopped")
	return exitOK
}

// printDemo tells whoever ran `serve --demo` where to sign in and as whom.
func printDemo(w interface{ Write([]byte) (int, error) }, issuer string) {
	fmt.Fprintf(w, "\nGatehouse demo: sign in at %s/account\n\n", issuer)
	fmt.Fprintf(w, "  %-28s %-26s %s\n", "sign in as", "password", "who")
	for _, cr := range seed.Credentials(seed.Demo()) {
		fmt.Fprintf(w, "  %-28s %-26s %s\n", cr.Login, cr.Password, cr.Description)
	}
	for _, cl := range seed.Demo().Clients {
		kind := "public client (PKCE)"
		if cl.Secret != "" {
			kind = "client secret " + cl.Secret
		}
		fmt.Fprintf(w, "  OIDC client %-16s %s, redirect %v\n", cl.ID, kind, cl.RedirectURIs)
	}
	fmt.Fprintln(w)
}
