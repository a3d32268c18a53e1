package ephemeral_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
)

const benchKeys = 1024

var benchValue = make([]byte, 256) // about the size of a serialised flow

// op is one operation on key number i.
type op func(ctx context.Context, i int) error

// BenchmarkEphemeral measures Get, Set and Incr on both backends from
// parallel goroutines. Each reports vs-baseline: its throughput as a
// fraction of the bare baseline doing the same work (raw go-redis commands
// for Redis, a map under one mutex for Memory), i.e. what our layer costs.
func BenchmarkEphemeral(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		s := ephemeraltest.Memory(b)
		base := &lockedMap{m: map[string][]byte{}}
		benchOps(b, s, map[string]op{
			"Get": func(ctx context.Context, i int) error {
				base.get(benchKey(i))
				return nil
			},
			"Set": func(ctx context.Context, i int) error {
				base.set(benchKey(i), benchValue)
				return nil
			},
			"Incr": func(ctx context.Context, i int) error {
				base.incr(benchKey(i))
				return nil
			},
		}, func() {
			for i := range benchKeys {
				base.set(benchKey(i), benchValue)
			}
		})
	})
	b.Run("redis", func(b *testing.B) {
		s := ephemeraltest.Redis(b)
		opt, err := redis.ParseURL(ephemeraltest.RedisURL())
		if err != nil {
			b.Fatal(err)
		}
		opt.DisableIdentity = true
		raw := redis.NewClient(opt)
		b.Cleanup(func() { _ = raw.Close() })
		p := s.Prefix() + "raw:"
		benchOps(b, s, map[string]op{
			"Get": func(ctx context.Context, i int) error {
				return raw.Get(ctx, p+benchKey(i)).Err()
			},
			"Set": func(ctx context.Context, i int) error {
				return raw.Set(ctx, p+benchKey(i), benchValue, time.Minute).Err()
			},
			"Incr": func(ctx context.Context, i int) error {
				return raw.Incr(ctx, p+"n:"+benchKey(i)).Err()
			},
		}, func() {
			ctx := context.Background()
			for i := range benchKeys {
				raw.Set(ctx, p+benchKey(i), benchValue, time.Minute)
			}
		})
	})
}

func benchKey(i int) string { return "bench:" + strconv.Itoa(i%benchKeys) }

func benchOps(b *testing.B, s storage.Ephemeral, baseline map[string]op, seedBaseline func()) {
	ctx := context.Background()
	for i := range benchKeys {
		if err := s.Set(ctx, benchKey(i), benchValue, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	seedBaseline()
	ours := map[string]op{
		"Get": func(ctx context.Context, i int) error {
			_, err := s.Get(ctx, benchKey(i))
			return err
		},
		"Set": func(ctx context.Context, i int) error {
			return s.Set(ctx, benchKey(i), benchValue, time.Minute)
		},
		"Incr": func(ctx context.Context, i int) error {
			_, err := s.Incr(ctx, "n:"+benchKey(i), time.Minute)
			return err
		},
	}
	for _, name := range []string{"Get", "Set", "Incr"} {
		b.Run(name, func(b *testing.B) {
			b.StopTimer()
			baseDur := runParallel(b, baseline[name])
			b.StartTimer()
			ourDur := runParallel(b, ours[name])
			b.ReportMetric(baseDur.Seconds()/ourDur.Seconds(), "vs-baseline")
		})
	}
}

// runParallel runs f b.N times over RunParallel's goroutines and returns the
// wall time it took.
func runParallel(b *testing.B, f op) time.Duration {
	var next atomic.Int64
	var failed atomic.Value
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := f(ctx, int(next.Add(1))); err != nil {
				failed.Store(err)
			}
		}
	})
	d := time.Since(start)
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	return d
}

// lockedMap is the simplest thread-safe store that still copies values, as
// the contract requires: the Memory baseline. What Memory adds over it is
// expiry (a clock read per call), sharding and type checks.
type lockedMap struct {
	mu sync.Mutex
	m  map[string][]byte
	n  map[string]int64
}

func (l *lockedMap) get(k string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[k]
	return append([]byte(nil), v...), ok
}

func (l *lockedMap) set(k string, v []byte) {
	c := append([]byte(nil), v...)
	l.mu.Lock()
	l.m[k] = c
	l.mu.Unlock()
}

func (l *lockedMap) incr(k string) {
	l.mu.Lock()
	if l.n == nil {
		l.n = map[string]int64{}
	}
	l.n[k]++
	l.mu.Unlock()
}
