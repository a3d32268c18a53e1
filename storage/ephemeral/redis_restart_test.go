package ephemeral_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse/storage"
	"gatehouse/storage/ephemeral"
)

// redisServer is a redis-server process of this test's own, so that it can
// be stopped and restarted without disturbing anyone sharing the usual one.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *redisServer) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command("redis-server",
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr(), DisableIdentity: true})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer", s.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *redisServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// After the server dies, calls fail with ErrUnavailable instead of hanging;
// once it is back, the pool and the subscription carry on by themselves.
func TestRedisSurvivesRestart(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is required under CI")
		}
		t.Skip("redis-server not installed")
	}
	srv := &redisServer{port: freePort(t)}
	srv.start(t)
	t.Cleanup(srv.stop)

	ctx := context.Background()
	r, err := ephemeral.NewRedis(ctx, "redis://"+srv.addr()+"/0", "restart:")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sub, err := r.Subscribe(ctx, "keys")
	if err != nil {
		t.Fatal(err)
	}
	awaitDelivery(t, r, sub, "before")

	srv.stop()
	if _, err := r.Get(ctx, "k"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Get with the server down: %v, want ErrUnavailable", err)
	}
	if err := r.Publish(ctx, "keys", "lost"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Publish with the server down: %v, want ErrUnavailable", err)
	}
	if err := r.Ping(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Ping with the server down: %v, want ErrUnavailable", err)
	}

	srv.start(t)
	awaitDelivery(t, r, sub, "after")
	if err := r.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set after the restart: %v", err)
	}
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
}
