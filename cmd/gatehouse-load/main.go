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
	"text/tabwriter"
	"time"
)

type options struct {
	target       string
	clientID     string
	clientSecret string
	redirectURI  string
	username     string
	password     string
	connections  int
	duration     time.Duration
	paths        string
	ceiling      bool
	argonMemory  uint
	argonTime    uint
	argonThreads uint
}

func main() {
	var o options
	flag.StringVar(&o.target, "target", "http://localhost:8080", "issuer URL of the started server")
	flag.StringVar(&o.clientID, "client-id", "academy", "confidential client with client_credentials and authorization_code")
	flag.StringVar(&o.clientSecret, "client-secret", "academy-demo-secret", "its secret")
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
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
		os.Exit(1)
	}
}

// result is one measured run.
type result struct {
	name     string
	requests int64
	errors   int64
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

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
	r := result{name: name, requests: reqs.Load(), errors: errs.Load(), elapsed: time.Since(start)}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
	}
	return r
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
		if ceil, err = startCeilings(g); err != nil {
			return err
		}
		defer ceil.close()
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "path\treq/s\tp50\tp99\terrors\tceiling req/s\tratio\t\n")
	for _, name := range strings.Split(o.paths, ",") {
		name = strings.TrimSpace(name)
		fn, n, err := g.op(name)
		if err != nil {
			return err
		}
		res := measure(ctx, name, n, o.duration, fn)
		line := fmt.Sprintf("%s\t%.0f\t%s\t%s\t%d\t", name, res.rate(), round(res.p50), round(res.p99), res.errors)
		if ceil != nil {
			if cfn, cn, label := ceil.op(name, n); cfn != nil {
				c := measure(ctx, label, cn, o.duration, cfn)
				line += fmt.Sprintf("%.0f (%s)\t%.2f\t", c.rate(), label, res.rate()/c.rate())
			} else {
				line += "-\t-\t"
			}
		} else {
			line += "\t\t"
		}
		fmt.Fprintln(tw, line)
		tw.Flush()
	}
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > 10*time.Microsecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}
