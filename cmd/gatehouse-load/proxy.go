package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// A counting proxy sits between a node and its PostgreSQL or Redis and
// counts round trips: a request that follows an answer on the same
// connection. A pipeline or a transaction sent in one go is one round trip,
// as it costs one. Run it as its own process (-proxy) so that the node can
// be pointed at it before the load run starts; the run reads its counters
// (-counters) before and after each path.

type proxyCounter struct {
	name       string
	listen     string
	upstream   string
	roundTrips atomic.Int64
}

func parseProxies(spec string) ([]*proxyCounter, error) {
	var out []*proxyCounter
	for _, part := range strings.Split(spec, ",") {
		name, rest, ok := strings.Cut(strings.TrimSpace(part), "=")
		listen, upstream, ok2 := strings.Cut(rest, ">")
		if !ok || !ok2 || name == "" || listen == "" || upstream == "" {
			return nil, fmt.Errorf("-proxy %q: want name=listen>upstream", part)
		}
		out = append(out, &proxyCounter{name: name, listen: listen, upstream: upstream})
	}
	return out, nil
}

func runProxy(spec, statsAddr string) error {
	proxies, err := parseProxies(spec)
	if err != nil {
		return err
	}
	for _, p := range proxies {
		ln, err := net.Listen("tcp", p.listen)
		if err != nil {
			return err
		}
		go p.accept(ln)
	}
	stats := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]int64{}
		for _, p := range proxies {
			out[p.name] = p.roundTrips.Load()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", statsAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: stats, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "gatehouse-load: counting proxy ready, counters at http://%s/\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return srv.Close()
}

func (p *proxyCounter) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *proxyCounter) pipe(client net.Conn) {
	defer client.Close()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	// answered: the upstream has spoken since the client last did, so the
	// client's next bytes start a new round trip.
	var answered atomic.Bool
	answered.Store(true)
	done := make(chan struct{}, 2)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if answered.Swap(false) {
					p.roundTrips.Add(1)
				}
				if _, werr := up.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				answered.Store(true)
				if _, werr := client.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}()
	<-done
}

// counters reads the proxy's counters; false when there is no proxy.
func (g *gatehouse) counters(ctx context.Context) (map[string]int64, bool) {
	if g.opts.counters == "" {
		return nil, false
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.opts.counters, nil)
	resp, err := g.http.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "counters:", err)
		return nil, false
	}
	defer resp.Body.Close()
	var out map[string]int64
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

// rss is the server's resident memory in KiB, when -pid names it.
func (g *gatehouse) rss() int64 {
	if g.opts.pid == 0 {
		return 0
	}
	return vmRSS(g.opts.pid)
}

// profile saves a CPU profile of the server over d into PATH.pprof.
func (g *gatehouse) profile(ctx context.Context, path string, d time.Duration) error {
	secs := max(int(d.Seconds()), 1)
	u := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimRight(g.opts.pprof, "/"), secs)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", u, resp.StatusCode)
	}
	f, err := os.Create(filepath.Join(g.opts.pprofDir, path+".pprof"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
