package sql_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"gatehouse/storage"
	"gatehouse/storage/sql"
	"gatehouse/storage/sql/sqltest"
)

// tcpProxy stands between a store and PostgreSQL so a test can take the
// server away and bring it back, as a restart would, without touching
// the real server.
type tcpProxy struct {
	addr, target string
	hang         bool // accept connections but never answer

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func startProxy(t *testing.T, target string, hang bool) *tcpProxy {
	p := &tcpProxy{addr: "127.0.0.1:0", target: target, hang: hang}
	p.start(t)
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.track(c)
			if p.hang {
				continue
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.track(up)
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *tcpProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

// cut closes every connection through the proxy but keeps listening: a
// restart that is over before the next request.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// stop closes the listener and every connection through it.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// viaProxy points a PostgreSQL dsn at the proxy.
func viaProxy(t *testing.T, dsn, addr string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

func TestPostgresGoesAwayAndComesBack(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	u, _ := url.Parse(dsn)
	proxy := startProxy(t, u.Host, false)
	ctx := ctxT(t)

	db, err := sql.Open(ctx, viaProxy(t, dsn, proxy.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreatePartner(ctx, storage.Partner{ID: "acme"}); err != nil {
		t.Fatal(err)
	}

	// A quick restart: every pooled connection is dead, the server is up.
	proxy.cut()
	if _, err := db.GetPartner(ctx, "acme"); err != nil {
		t.Fatalf("GetPartner after a quick restart: %v, want the read retried on a new connection", err)
	}
	if _, err := db.ListPartners(ctx); err != nil {
		t.Fatalf("ListPartners after a quick restart: %v", err)
	}

	proxy.stop() // the server is gone: open connections reset, new ones refused
	_, err = db.GetPartner(ctx, "acme")
	t.Logf("server down: %v", err)
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("GetPartner with the server down: %v, want ErrUnavailable", err)
	}
	if err := db.CreatePartner(ctx, storage.Partner{ID: "globex"}); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("CreatePartner with the server down: %v, want ErrUnavailable", err)
	}
	if err := db.Ping(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Ping with the server down: %v, want ErrUnavailable", err)
	}

	proxy.start(t) // back on the same address
	if _, err := db.GetPartner(ctx, "acme"); err != nil {
		t.Fatalf("GetPartner once the server is back: %v", err)
	}
	if err := db.CreatePartner(ctx, storage.Partner{ID: "globex"}); err != nil {
		t.Fatalf("CreatePartner once the server is back: %v", err)
	}
}

// A server that accepts connections and never answers fails operations at
// the store's timeout instead of hanging them.
func TestPostgresHangingServer(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	u, _ := url.Parse(dsn)
	proxy := startProxy(t, u.Host, true)

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := sql.Open(ctx, viaProxy(t, dsn, proxy.addr))
	t.Logf("hanging: %v", err)
	if !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open against a hanging server: %v, want ErrUnavailable and the deadline", err)
	}
}

func TestPostgresNobodyListening(t *testing.T) {
	sqltest.PostgresDSN(t) // skip, or fail in CI, like the other PostgreSQL tests
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = sql.Open(ctxT(t), "postgres://postgres@"+addr+"/x?sslmode=disable")
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Open with nothing listening: %v, want ErrUnavailable", err)
	}
}
