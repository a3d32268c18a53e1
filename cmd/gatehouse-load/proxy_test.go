package main

import (
	"bufio"
	"net"
	"os"
	"testing"
	"time"
)

// The counting proxy counts a round trip per request that follows an
// answer: a pipeline of several requests sent at once is one.
func TestProxyCountsRoundTrips(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := &proxyCounter{name: "echo", upstream: echo.Addr().String()}
	go p.accept(ln)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	turn := func(msg string, lines int) {
		t.Helper()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for i := 0; i < lines; i++ {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
	}
	turn("a\n", 1)
	turn("b\n", 1)
	turn("c\nd\ne\n", 3) // pipelined
	if n := p.roundTrips.Load(); n != 3 {
		t.Fatalf("counted %d round trips, want 3", n)
	}
}

func TestParseProxies(t *testing.T) {
	ps, err := parseProxies("redis=127.0.0.1:1>127.0.0.1:2, sql=127.0.0.1:3>127.0.0.1:4")
	if err != nil || len(ps) != 2 || ps[1].name != "sql" || ps[1].listen != "127.0.0.1:3" || ps[1].upstream != "127.0.0.1:4" {
		t.Fatalf("%v %+v", err, ps)
	}
	for _, bad := range []string{"redis", "redis=a", "=a>b", "x=>b"} {
		if _, err := parseProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestProcessCPUAndRSS(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if processCPU(os.Getpid()) <= 0 {
		t.Error("no CPU time read for this process")
	}
	if vmRSS(os.Getpid()) <= 0 {
		t.Error("no resident size read for this process")
	}
	if processCPU(0) != 0 || vmRSS(-1) != 0 {
		t.Error("a process that is not there has figures")
	}
}

func TestJWTAlg(t *testing.T) {
	if a := jwtAlg("eyJhbGciOiJFUzI1NiJ9.e30.x"); a != "ES256" {
		t.Fatalf("alg %q", a)
	}
	if a := jwtAlg("garbage"); a != "" {
		t.Fatalf("alg of garbage %q", a)
	}
}
