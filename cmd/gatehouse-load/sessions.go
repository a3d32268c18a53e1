package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// holdSessions signs in n fresh browsers, each of which leaves an SSO
// session on the server, then reports the server's resident memory. The
// browsers are dropped as soon as they have signed in: the sessions stay
// where the server keeps them until they expire.
func (g *gatehouse) holdSessions(ctx context.Context, n int) error {
	before := g.rss()
	var (
		next, done, failed atomic.Int64
		wg                 sync.WaitGroup
		firstErr           sync.Once
	)
	start := time.Now()
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				d := done.Load()
				fmt.Fprintf(os.Stderr, "sessions: %d of %d (%.0f/s), server RSS %.0f MiB\n",
					d, n, float64(d)/time.Since(start).Seconds(), float64(g.rss())/1024)
			}
		}
	}()
	for w := 0; w < g.opts.connections; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if _, err := g.authorize(ctx, g.browser(), true, g.main); err != nil {
					failed.Add(1)
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "sessions: first error:", err) })
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	elapsed := time.Since(start)
	// Let the server finish what the last requests started, then read.
	time.Sleep(3 * time.Second)
	after := g.rss()
	fmt.Printf("\n%d sessions signed in (%d failed) in %s (%.0f/s)\n", done.Load(), failed.Load(), elapsed.Round(time.Second), float64(done.Load())/elapsed.Seconds())
	if g.opts.pid != 0 {
		fmt.Printf("server VmRSS: %.1f MiB before, %.1f MiB after\n", float64(before)/1024, float64(after)/1024)
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d sign-ins failed", failed.Load())
	}
	return nil
}
