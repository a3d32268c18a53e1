// Command gatehouse-load drives a started Gatehouse server and prints, for
// each hot path, requests per second and p50/p99 latency. With -ceiling it
// also measures, in the same run and on the same machine, what bounds each
// path: a bare HTTP server that only signs an equivalent token with the same
// algorithm, a bare server that only copies bytes, and argon2id with the
// same parameters. The ratios, not the raw figures, are what to compare
// between machines (DESIGN.md, hot paths).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	target          string
	clientID        string
	clientSecret    string
	altClientID     string
	altClientSecret string
	redirectURI     string
	username        string
	password        string
	connections     int
	duration        time.Duration
	paths           string
	ceiling         bool
	argonMemory     uint
	argonTime       uint
	argonThreads    uint
	rounds          int
	markdown        bool
	pid             int
	counters        string
	proxy           string
	proxyStats      string
	sessions        int
	pprof           string
	pprofDir        string
}

func main() {
	var o options
	flag.StringVar(&o.target, "target", "http://localhost:8080", "issuer URL of the started server")
	flag.StringVar(&o.clientID, "client-id", "academy", "confidential client with client_credentials and authorization_code")
	flag.StringVar(&o.clientSecret, "client-secret", "academy-demo-secret-5e1f9c", "its secret")
	flag.StringVar(&o.altClientID, "alt-client-id", "academy", "the client of the authorize_code_alt path (one with another ID token algorithm)")
	flag.StringVar(&o.altClientSecret, "alt-client-secret", "academy-demo-secret-5e1f9c", "its secret")
	flag.StringVar(&o.redirectURI, "redirect-uri", "http://localhost:9000/callback", "a registered redirect URI of the client")
	flag.StringVar(&o.username, "username", "olivia@acme.example", "a user who signs in with a password and no second factor")
	flag.StringVar(&o.password, "password", "", "that user's password")
	flag.IntVar(&o.connections, "c", 32, "concurrent connections")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "duration of each path's run")
	flag.StringVar(&o.paths, "paths", "client_credentials,introspect,userinfo,jwks,discovery,authorize_code,password_signin", "comma-separated paths to run")
	flag.BoolVar(&o.ceiling, "ceiling", true, "also measure each path's ceiling in the same run")
	flag.UintVar(&o.argonMemory, "argon-memory", 19*1024, "argon2id memory (KiB) the server uses")
	flag.UintVar(&o.argonTime, "argon-iterations", 2, "argon2id iterations the server uses")
	flag.UintVar(&o.argonThreads, "argon-parallelism", 1, "argon2id parallelism the server uses")
	flag.IntVar(&o.rounds, "rounds", 3, "split each path's run into this many turns, alternating with its ceiling")
	flag.BoolVar(&o.markdown, "markdown", false, "print the report as a Markdown table")
	flag.IntVar(&o.pid, "pid", 0, "the server's process id, to report its resident memory (Linux)")
	flag.StringVar(&o.counters, "counters", "", "URL of a running `-proxy` whose round-trip counters to report per request")
	flag.StringVar(&o.proxy, "proxy", "", "run only a counting TCP proxy: `name=listen>upstream,...` (e.g. redis=127.0.0.1:16379>127.0.0.1:6379), counters served at -proxy-stats")
	flag.StringVar(&o.proxyStats, "proxy-stats", "127.0.0.1:16399", "where a -proxy serves its counters")
	flag.IntVar(&o.sessions, "sessions", 0, "after the paths, sign in this many fresh browsers (each an SSO session) and report the server's resident memory")
	flag.StringVar(&o.pprof, "pprof", "", "base URL of the server's profiler (debug.pprof_listen): save a CPU profile of each path's first turn")
	flag.StringVar(&o.pprofDir, "pprof-dir", ".", "where -pprof profiles go, one PATH.pprof each")
	serveCeil := flag.Bool("serve-ceilings", false, "internal: be the child process that serves the ceilings")
	flag.Parse()
	if *serveCeil {
		if err := serveCeilings(); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse-load: ceilings:", err)
			os.Exit(1)
		}
		return
	}
	if o.proxy != "" {
		if err := runProxy(o.proxy, o.proxyStats); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
		os.Exit(1)
	}
}

// result is one measured run, or several slices of one added together.
type result struct {
	name     string
	requests int64
	errors   int64
	elapsed  time.Duration
	lat      []time.Duration
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *result) add(o result) {
	r.name = o.name
	r.requests += o.requests
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
}

// percentile of the latencies; q in [0, 1].
func (r result) percentile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[min(int(float64(len(r.lat))*q), len(r.lat)-1)]
}

// op is one request (or one unit of work) of a path; it returns an error
// when the answer was not the expected one.
type op func(ctx context.Context, worker int) error

// measure runs op from n workers for d and collects latencies.
func measure(ctx context.Context, name string, n int, d time.Duration, fn op) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		reqs, errs atomic.Int64
		mu         sync.Mutex
		lat        []time.Duration
		wg         sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t := time.Now()
				err := fn(ctx, w)
				if ctx.Err() != nil {
					break // a request cut short by the end of the run does not count
				}
				local = append(local, time.Since(t))
				reqs.Add(1)
				if err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "%s: first error: %v\n", name, err)
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	return result{name: name, requests: reqs.Load(), errors: errs.Load(), elapsed: time.Since(start), lat: lat}
}

// row is one line of the report.
type row struct {
	path       string
	res        result
	ceil       *result
	redis, sql float64 // round trips per request; negative: not counted
	rss        int64   // the server's resident KiB after the path, 0: unknown
	// CPU time the server and the ceiling spent in their turns (0:
	// unknown): per request, the ratio of the two is what the path costs
	// against its ceiling whatever else shares the machine.
	srvCPU, ceilCPU time.Duration
	ceilingLabel    string
}

func run(ctx context.Context, o options) error {
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        o.connections * 2,
			MaxIdleConnsPerHost: o.connections * 2,
			IdleConnTimeout:     time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	g := &gatehouse{opts: o, http: client, target: strings.TrimRight(o.target, "/")}
	if err := g.prepare(ctx); err != nil {
		return err
	}
	var ceil *ceilings
	if o.ceiling {
		var err error
		if ceil, err = startCeilings(ctx, g); err != nil {
			return err
		}
		defer ceil.close()
	}
	rounds := max(o.rounds, 1)
	slice := o.duration / time.Duration(rounds)

	var rows []row
	for _, name := range strings.Split(o.paths, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		fn, n, err := g.op(name)
		if err != nil {
			return err
		}
		var cfn op
		var cn int
		r := row{path: g.label(name), redis: -1, sql: -1}
		if ceil != nil {
			cfn, cn, r.ceilingLabel = ceil.op(name, n)
		}
		fmt.Fprintf(os.Stderr, "%s: %d connections, %d rounds of %s", name, n, rounds, slice)
		if cfn != nil {
			fmt.Fprintf(os.Stderr, " alternating with %s", r.ceilingLabel)
			r.ceil = &result{}
		}
		fmt.Fprintln(os.Stderr)
		before, _ := g.counters(ctx)
		// The path and its ceiling take turns, so that whatever else the
		// machine is doing weighs on both alike.
		for i := 0; i < rounds; i++ {
			var prof chan error
			if i == 0 && o.pprof != "" {
				prof = make(chan error, 1)
				go func() { prof <- g.profile(ctx, name, slice) }()
			}
			cpu0 := processCPU(o.pid)
			r.res.add(measure(ctx, name, n, slice, fn))
			// Work the server started for requests cut short at the end
			// of the turn belongs to this turn, not to the ceiling's.
			time.Sleep(settle)
			r.srvCPU += processCPU(o.pid) - cpu0
			if prof != nil {
				if err := <-prof; err != nil {
					fmt.Fprintf(os.Stderr, "%s: profile: %v\n", name, err)
				}
			}
			if cfn != nil {
				pid := ceil.pid(name)
				cpu0 := processCPU(pid)
				r.ceil.add(measure(ctx, r.ceilingLabel, cn, slice, cfn))
				time.Sleep(settle)
				r.ceilCPU += processCPU(pid) - cpu0
			}
		}
		if o.pid == 0 {
			r.srvCPU = 0
		}
		if after, ok := g.counters(ctx); ok && before != nil && r.res.requests > 0 {
			r.redis = float64(after["redis"]-before["redis"]) / float64(r.res.requests)
			r.sql = float64(after["sql"]-before["sql"]) / float64(r.res.requests)
		}
		r.rss = g.rss()
		rows = append(rows, r)
	}
	switch {
	case len(rows) == 0:
	case o.markdown:
		printMarkdown(os.Stdout, o, rows)
	default:
		printTable(os.Stdout, rows)
	}
	if o.sessions > 0 {
		return g.holdSessions(ctx, o.sessions)
	}
	return nil
}
