package conformance

import (
	"slices"
	"strconv"
	"sync"
	"testing"

	"gatehouse/storage"
)

func ephemeralIncr(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	for want := int64(1); want <= 3; want++ {
		n, err := s.Incr(ctx, "fails:alice", longTTL)
		if err != nil || n != want {
			t.Fatalf("Incr = %d, %v; want %d", n, err, want)
		}
	}
	// Counters are independent, and readable as decimal values.
	if n, err := s.Incr(ctx, "fails:bob", longTTL); err != nil || n != 1 {
		t.Fatalf("Incr(bob) = %d, %v; want 1", n, err)
	}
	wantValue(t, s, "fails:alice", "3")

	if err := s.Delete(ctx, "fails:alice"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n, err := s.Incr(ctx, "fails:alice", longTTL); err != nil || n != 1 {
		t.Fatalf("Incr after Delete = %d, %v; want 1", n, err)
	}
	// A value written as a decimal number counts on from it.
	mustSet(t, s, "seeded", "41", longTTL)
	if n, err := s.Incr(ctx, "seeded", longTTL); err != nil || n != 42 {
		t.Fatalf("Incr(seeded) = %d, %v; want 42", n, err)
	}
	if vals, err := s.MGet(ctx, "seeded", "fails:bob"); err != nil || string(vals[0]) != "42" || string(vals[1]) != "1" {
		t.Fatalf("MGet of counters = %q, %v; want [42 1]", vals, err)
	}
	if got, err := s.Take(ctx, "seeded"); err != nil || string(got) != "42" {
		t.Fatalf("Take of a counter = %q, %v; want 42", got, err)
	}
	// Set replaces a counter with a plain value.
	mustSet(t, s, "fails:bob", "reset", longTTL)
	wantValue(t, s, "fails:bob", "reset")
}

// Racing sign-in failures must each be counted: every increment returns a
// distinct value and the final count is exact.
func ephemeralIncrConcurrent(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	const each = 25
	var mu sync.Mutex
	var got []int64
	var errs []error
	race(func(int) {
		for range each {
			n, err := s.Incr(ctx, "rate:ip", longTTL)
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			}
			got = append(got, n)
			mu.Unlock()
		}
	})
	if len(errs) > 0 {
		t.Fatalf("Incr errors: %v", errs[:min(len(errs), 3)])
	}
	slices.Sort(got)
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("concurrent Incr returned %v...; want each of 1..%d exactly once", got[:min(len(got), i+2)], racers*each)
		}
	}
	wantValue(t, s, "rate:ip", strconv.Itoa(racers*each))
}
