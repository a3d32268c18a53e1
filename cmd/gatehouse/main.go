// Command gatehouse is the Gatehouse identity provider: one binary that
// serves, migrates, applies seed files and rotates signing keys
// (INTERFACE.md section 1). It reads flags and configuration and wires the
// packages together; it has no logic of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // something went wrong while running
	exitUsage  = 2 // bad flags, configuration or seed file
)

// cli carries what a command touches of the outside world, so tests run
// the commands in-process.
type cli struct {
	stdout, stderr io.Writer
	environ        []string
	now            func() time.Time
	// listening, when set, is told the server's address once it accepts
	// connections (tests listen on port 0).
	listening func(addr net.Addr)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown; restoring the default
	// handling then lets a second one end the process at once.
	go func() { <-ctx.Done(); stop() }()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ(), now: time.Now}
	os.Exit(c.run(ctx, os.Args[1:]))
}

const usage = `usage:
  gatehouse serve [--config FILE] [--seed FILE]... [--demo]
  gatehouse migrate [--config FILE]
  gatehouse apply --seed FILE [--config FILE]
  gatehouse keys rotate [--config FILE]
  gatehouse healthcheck [--url URL]
  gatehouse version
`

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "migrate":
		return c.migrate(ctx, rest)
	case "apply":
		return c.apply(ctx, rest)
	case "keys":
		if len(rest) == 0 || rest[0] != "rotate" {
			fmt.Fprint(c.stderr, "gatehouse keys: the only subcommand is rotate\n"+usage)
			return exitUsage
		}
		return c.keysRotate(ctx, rest[1:])
	case "healthcheck":
		return c.healthcheck(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintln(c.stdout, versionString())
		return exitOK
	case "help", "--help", "-h", "-help":
		fmt.Fprint(c.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(c.stderr, "gatehouse: unknown command %q\n%s", cmd, usage)
	return exitUsage
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return "gatehouse " + v + " " + bi.GoVersion
	}
	return "gatehouse " + v
}

// stringList is a repeatable string flag (--seed a.yaml --seed b.yaml).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// fail reports err on stderr as one message and returns the exit status
// that fits it: 2 for configuration and seed problems, 1 otherwise.
func (c *cli) fail(cmd string, err error) int {
	fmt.Fprintf(c.stderr, "gatehouse %s: %v\n", cmd, err)
	var ce *ConfigError
	var ue *usageError
	if errors.As(err, &ce) || errors.As(err, &ue) || isSeedError(err) {
		return exitUsage
	}
	return exitFailed
}

// usageError is a problem with how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
