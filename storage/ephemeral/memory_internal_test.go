package ephemeral

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse/storage"
)

// clock is a hand-moved time source for the Memory store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClockedMemory(t *testing.T) (*Memory, *clock) {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemory(c.Now)
	t.Cleanup(func() { _ = m.Close() })
	return m, c
}

// With the injected clock the expiry boundary is exact: a key lives for
// precisely its TTL.
func TestMemoryExpiryBoundary(t *testing.T) {
	ctx := context.Background()
	m, c := newClockedMemory(t)
	if err := m.Set(ctx, "v", []byte("x"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Incr(ctx, "n", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := m.SAdd(ctx, "s", 10*time.Second, "a"); err != nil {
		t.Fatal(err)
	}

	c.Advance(10*time.Second - time.Nanosecond)
	if _, err := m.Get(ctx, "v"); err != nil {
		t.Fatalf("Get just before expiry: %v", err)
	}
	if n, err := m.Incr(ctx, "n", time.Hour); err != nil || n != 2 {
		t.Fatalf("Incr just before expiry = %d, %v; want 2", n, err)
	}
	if got, _ := m.SMembers(ctx, "s"); len(got) != 1 {
		t.Fatalf("SMembers just before expiry = %v", got)
	}

	c.Advance(time.Nanosecond)
	if _, err := m.Get(ctx, "v"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get at expiry: %v, want ErrNotFound", err)
	}
	if n, err := m.Incr(ctx, "n", time.Hour); err != nil || n != 1 {
		t.Fatalf("Incr at expiry = %d, %v; want a fresh counter at 1", n, err)
	}
	if got, _ := m.SMembers(ctx, "s"); len(got) != 0 {
		t.Fatalf("SMembers at expiry = %v, want none", got)
	}
}

func (m *Memory) size() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// Expired entries that nobody reads again are still freed.
func TestMemorySweepEvictsOnlyExpired(t *testing.T) {
	ctx := context.Background()
	m, c := newClockedMemory(t)
	for i := range 100 {
		ttl := time.Minute
		if i%2 == 0 {
			ttl = time.Hour
		}
		if err := m.Set(ctx, "k"+strconv.Itoa(i), []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.sweep(); n != 0 {
		t.Fatalf("sweep before anything expired evicted %d", n)
	}
	c.Advance(time.Minute)
	if n := m.sweep(); n != 50 {
		t.Fatalf("sweep evicted %d entries, want 50", n)
	}
	if n := m.size(); n != 50 {
		t.Fatalf("%d entries left, want 50", n)
	}
	if _, err := m.Get(ctx, "k0"); err != nil {
		t.Fatalf("live entry lost: %v", err)
	}
}

// A subscriber that stops reading loses messages; the publisher never waits.
func TestMemorySlowSubscriberDrops(t *testing.T) {
	ctx := context.Background()
	m, _ := newClockedMemory(t)
	slow, err := m.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	const sent = 10 * subscriberBuffer
	for i := range sent {
		if err := m.Publish(ctx, "c", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(slow); got != subscriberBuffer {
		t.Fatalf("slow subscriber holds %d messages, want the first %d", got, subscriberBuffer)
	}
	if first := <-slow; first != "0" {
		t.Fatalf("first buffered message %q, want %q", first, "0")
	}
	// Once it has room again, it receives new messages.
	if err := m.Publish(ctx, "c", "fresh"); err != nil {
		t.Fatal(err)
	}
	var last string
	for range subscriberBuffer {
		last = <-slow
	}
	if last != "fresh" {
		t.Fatalf("last message %q, want %q", last, "fresh")
	}
}

func TestMemoryCloseEndsSubscriptions(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	ch, err := m.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("subscription open after Close")
	}
	if _, err := m.Subscribe(ctx, "c"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Subscribe after Close: %v, want ErrUnavailable", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-m.done:
	default:
		t.Fatal("janitor still running after Close")
	}
	// Keys stay usable for requests finishing during shutdown.
	if err := m.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set after Close: %v", err)
	}
}
