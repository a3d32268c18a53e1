package ephemeraltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse/storage/ephemeral"
)

// DefaultRedisURL is used when GATEHOUSE_TEST_REDIS is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// RedisURL returns the server tests use: $GATEHOUSE_TEST_REDIS or
// DefaultRedisURL.
func RedisURL() string {
	if u := os.Getenv("GATEHOUSE_TEST_REDIS"); u != "" {
		return u
	}
	return DefaultRedisURL
}

// Memory returns an in-process store on the wall clock, closed when the test
// ends.
func Memory(t testing.TB) *ephemeral.Memory {
	return MemoryAt(t, time.Now)
}

// MemoryAt returns an in-process store reading time from now, so a test can
// move past a TTL without sleeping. It is closed when the test ends.
func MemoryAt(t testing.TB, now func() time.Time) *ephemeral.Memory {
	t.Helper()
	m := ephemeral.NewMemory(now)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// Redis returns a store on the test server under a fresh random prefix. When
// the test ends the store is closed and every key under the prefix deleted.
// An unreachable server skips the test, except under CI=true where it fails.
func Redis(t testing.TB) *ephemeral.Redis {
	t.Helper()
	url := RedisURL()
	prefix := "gatehouse-test:" + randomHex(8) + ":"

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := ephemeral.NewRedis(ctx, url, prefix)
	if err != nil {
		unreachable(t, url, err)
	}
	t.Cleanup(func() {
		_ = r.Close()
		if err := deletePrefix(url, prefix); err != nil {
			t.Errorf("ephemeraltest: cleaning up %s*: %v", prefix, err)
		}
	})
	return r
}

// Prefix returns a fresh key prefix on the test server for a process other
// than this one (a gatehouse node started by the test) and deletes its keys
// when the test ends. An unreachable server skips or fails as Redis does.
func Prefix(t testing.TB) (url, prefix string) {
	t.Helper()
	url = RedisURL()
	prefix = "gatehouse-test:" + randomHex(8) + ":"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := ephemeral.NewRedis(ctx, url, prefix)
	if err != nil {
		unreachable(t, url, err)
	}
	_ = r.Close()
	t.Cleanup(func() {
		if err := deletePrefix(url, prefix); err != nil {
			t.Errorf("ephemeraltest: cleaning up %s*: %v", prefix, err)
		}
	})
	return url, prefix
}

func unreachable(t testing.TB, url string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("ephemeraltest: Redis at %s is required under CI: %v", url, err)
	}
	t.Skipf("ephemeraltest: Redis at %s unreachable, skipping: %v", url, err)
}

// deletePrefix removes the test's keys with SCAN and DEL, on a client of its
// own since the store itself is already closed.
func deletePrefix(url, prefix string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	opt.DisableIdentity = true
	c := redis.NewClient(opt)
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, escapeGlob(prefix)+"*", 500).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// escapeGlob quotes the characters SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
