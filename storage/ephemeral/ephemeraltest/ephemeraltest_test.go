package ephemeraltest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse/storage/ephemeral/ephemeraltest"
)

// The keys a test writes are gone once it ends; keys of other prefixes stay.
func TestRedisCleansUp(t *testing.T) {
	ctx := context.Background()
	var prefix string
	t.Run("writer", func(t *testing.T) {
		r := ephemeraltest.Redis(t)
		prefix = r.Prefix()
		for _, k := range []string{"a", "b", "c"} {
			if err := r.Set(ctx, k, []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.SAdd(ctx, "s", time.Minute, "m"); err != nil {
			t.Fatal(err)
		}
	})
	if prefix == "" {
		t.Skip("writer skipped")
	}
	opt, err := redis.ParseURL(ephemeraltest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	keys, _, err := c.Scan(ctx, 0, prefix+"*", 1000).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("keys left under %s after the test: %v", prefix, keys)
	}
}

func TestMemoryAtUsesClock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := ephemeraltest.MemoryAt(t, func() time.Time { return now })
	if err := m.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if _, err := m.Get(ctx, "k"); err == nil {
		t.Fatal("key outlived its TTL on the injected clock")
	}
}

// An unreachable server skips a test on a workstation and fails it in CI.
// The verdict is observed from a child test process aimed at a closed port.
func TestRedisUnreachable(t *testing.T) {
	if os.Getenv("EPHEMERALTEST_CHILD") == "1" {
		ephemeraltest.Redis(t)
		t.Log("reached after Redis returned")
		return
	}
	run := func(ci string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRedisUnreachable$", "-test.v")
		cmd.Env = append(os.Environ(),
			"EPHEMERALTEST_CHILD=1",
			"GATEHOUSE_TEST_REDIS=redis://127.0.0.1:1/0",
			"CI="+ci)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP") {
		t.Fatalf("without CI: %v\n%s\nwant a skip", err, out)
	}
	out, err = run("true")
	if err == nil || !strings.Contains(out, "--- FAIL") || strings.Contains(out, "reached after") {
		t.Fatalf("with CI=true: %v\n%s\nwant a failure", err, out)
	}
}
