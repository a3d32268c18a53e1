package ephemeral_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse/storage"
	"gatehouse/storage/ephemeral"
	"gatehouse/storage/ephemeral/ephemeraltest"
)

func randomName(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "gatehouse-test-" + hex.EncodeToString(b)
}

// Stores with different prefixes on one server see neither each other's keys
// nor each other's channels.
func TestRedisPrefixIsolates(t *testing.T) {
	ctx := context.Background()
	a, b := ephemeraltest.Redis(t), ephemeraltest.Redis(t)
	if err := a.Set(ctx, "k", []byte("a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("other prefix sees the key: %v", err)
	}

	raw := rawClient(t)
	if v, err := raw.Get(ctx, a.Prefix()+"k").Result(); err != nil || v != "a" {
		t.Fatalf("raw GET %sk = %q, %v", a.Prefix(), v, err)
	}

	sub, err := a.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "c", "from b"); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, "c", "from a"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sub:
		if got != "from a" {
			t.Fatalf("subscriber under prefix a got %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
}

func rawClient(t testing.TB) *redis.Client {
	opt, err := redis.ParseURL(ephemeraltest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisWrongType(t *testing.T) {
	ctx := context.Background()
	r := ephemeraltest.Redis(t)
	if err := r.SAdd(ctx, "s", time.Minute, "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, "s"); !errors.Is(err, ephemeral.ErrWrongType) {
		t.Fatalf("Get on a set: %v, want ErrWrongType", err)
	}
	// The error raised inside the Incr script is recognised too.
	if _, err := r.Incr(ctx, "s", time.Minute); !errors.Is(err, ephemeral.ErrWrongType) {
		t.Fatalf("Incr on a set: %v, want ErrWrongType", err)
	}
}

func TestNewRedisUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 refuses connections on any ordinary machine.
	_, err := ephemeral.NewRedis(ctx, "redis://127.0.0.1:1/0", "x:")
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("NewRedis to a closed port: %v, want ErrUnavailable", err)
	}
}

func TestNewRedisBadURL(t *testing.T) {
	_, err := ephemeral.NewRedis(context.Background(), "http://127.0.0.1:6379", "x:")
	if err == nil || errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "redis.url") {
		t.Fatalf("NewRedis with a bad URL: %v; want a configuration error naming redis.url", err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s, err := ephemeral.Open(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*ephemeral.Memory); !ok {
		t.Fatalf("Open with no URL returned %T, want *Memory", s)
	}

	ephemeraltest.Redis(t) // skips here when the server is unreachable
	s, err = ephemeral.Open(ctx, ephemeraltest.RedisURL(), randomName(t)+":")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*ephemeral.Redis); !ok {
		t.Fatalf("Open with a URL returned %T, want *Redis", s)
	}
}

// A subscription whose connection is cut (as by a restart or a failover)
// resubscribes by itself. The connection is found by a client name unique
// to this test, so other users of the server are left alone.
func TestRedisSubscriptionSurvivesDroppedConnection(t *testing.T) {
	ctx := context.Background()
	ephemeraltest.Redis(t) // skip or fail early when the server is unreachable
	name := randomName(t)
	u, err := url.Parse(ephemeraltest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("client_name", name)
	u.RawQuery = q.Encode()
	r, err := ephemeral.NewRedis(ctx, u.String(), name+":")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	sub, err := r.Subscribe(ctx, "keys")
	if err != nil {
		t.Fatal(err)
	}
	awaitDelivery(t, r, sub, "before")

	raw := rawClient(t)
	list, err := raw.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		fields := clientFields(line)
		if fields["name"] == name && fields["sub"] != "0" && fields["sub"] != "" {
			if err := raw.Do(ctx, "CLIENT", "KILL", "ID", fields["id"]).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d subscribed connections named %s, want 1", killed, name)
	}
	awaitDelivery(t, r, sub, "after")
}

func clientFields(line string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

// awaitDelivery publishes msg until the subscriber receives it. Messages
// published while a subscription is reconnecting are lost by design, so one
// publish is not enough; the bound only stops a broken store from hanging.
func awaitDelivery(t *testing.T, s storage.Ephemeral, sub <-chan string, msg string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		_ = s.Publish(context.Background(), "keys", msg)
		select {
		case got, ok := <-sub:
			if !ok {
				t.Fatalf("subscription closed while waiting for %q", msg)
			}
			if got == msg {
				return
			}
		case <-tick.C:
		}
	}
	t.Fatalf("message %q never delivered", msg)
}

// SAdd runs as one script: large batches work, and a failed call leaves the
// key (and its TTL) as it was.
func TestRedisSAddScript(t *testing.T) {
	ctx := context.Background()
	r := ephemeraltest.Redis(t)
	members := make([]string, 2500)
	for i := range members {
		members[i] = "m" + strconv.Itoa(i)
	}
	if err := r.SAdd(ctx, "big", time.Minute, members...); err != nil {
		t.Fatal(err)
	}
	if got, err := r.SMembers(ctx, "big"); err != nil || len(got) != len(members) {
		t.Fatalf("SMembers = %d members, %v; want %d", len(got), err, len(members))
	}

	if err := r.Set(ctx, "value", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := r.SAdd(ctx, "value", time.Second, "m"); !errors.Is(err, ephemeral.ErrWrongType) {
		t.Fatalf("SAdd on a value: %v, want ErrWrongType", err)
	}
	ttl, err := rawClient(t).PTTL(ctx, r.Prefix()+"value").Result()
	if err != nil || ttl <= time.Minute {
		t.Fatalf("TTL of the value after a failed SAdd = %s, %v; want it untouched (about an hour)", ttl, err)
	}
}

func TestRedisCloseEndsSubscriptions(t *testing.T) {
	ctx := context.Background()
	ephemeraltest.Redis(t) // skip or fail early when the server is unreachable
	r, err := ephemeral.NewRedis(ctx, ephemeraltest.RedisURL(), randomName(t)+":")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-sub; ok {
		t.Fatal("subscription open after Close")
	}
	if _, err := r.Subscribe(ctx, "c"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Subscribe after Close: %v, want ErrUnavailable", err)
	}
	if _, err := r.Get(ctx, "k"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Get after Close: %v, want ErrUnavailable", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
