package conformance

import (
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"gatehouse/storage"
)

// quickly runs steps that must all happen before a shortTTL key expires. On a
// machine stalled for longer than shortTTL it tries again with fresh keys
// rather than report a fault the store does not have.
func quickly(t *testing.T, steps func(attempt int)) {
	t.Helper()
	for attempt := range 3 {
		start := time.Now()
		steps(attempt)
		if time.Since(start) < shortTTL {
			return
		}
	}
	t.Fatalf("three attempts each took longer than %s; the machine is too slow for this check", shortTTL)
}

func ephemeralExpiryValues(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	mustSet(t, s, "short", "S", shortTTL)
	mustSet(t, s, "long", "L", longTTL)
	mustSet(t, s, "extended", "old", shortTTL)
	mustSet(t, s, "extended", "new", longTTL)
	if ok, err := s.SetNX(ctx, "nx-short", []byte("N"), shortTTL); err != nil || !ok {
		t.Fatalf("SetNX(nx-short) = %v, %v", ok, err)
	}
	mustSet(t, s, "take-short", "T", shortTTL)
	sleepUntil(time.Now().Add(expiryWait))

	wantAbsent(t, s, "short")
	wantAbsent(t, s, "nx-short")
	wantValue(t, s, "long", "L")
	wantValue(t, s, "extended", "new")
	if got, err := s.Take(ctx, "take-short"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Take of an expired key = %q, %v; want ErrNotFound", got, err)
	}
	vals, err := s.MGet(ctx, "short", "long")
	if err != nil {
		t.Fatalf("MGet: %v", err)
	}
	if vals[0] != nil || string(vals[1]) != "L" {
		t.Fatalf("MGet(short, long) = %q; want [nil L]", vals)
	}
	// An expired key is absent for SetNX too: a replay cache entry that has
	// lived out its TTL no longer blocks.
	if ok, err := s.SetNX(ctx, "nx-short", []byte("again"), longTTL); err != nil || !ok {
		t.Fatalf("SetNX over an expired key = %v, %v; want true", ok, err)
	}
	wantValue(t, s, "nx-short", "again")
}

// The TTL of a counter starts with its first increment and later increments
// do not push it back: a lockout window ends on time however many attempts
// fall inside it.
func ephemeralExpiryIncr(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	var k string
	quickly(t, func(attempt int) {
		k = key("window", attempt)
		for want := int64(1); want <= 2; want++ {
			ttl := shortTTL
			if want > 1 {
				ttl = longTTL
			}
			n, err := s.Incr(ctx, k, ttl)
			if err != nil || n != want {
				t.Fatalf("Incr #%d = %d, %v; want %d", want, n, err, want)
			}
		}
	})
	sleepUntil(time.Now().Add(expiryWait))
	wantAbsent(t, s, k)
	if n, err := s.Incr(ctx, k, longTTL); err != nil || n != 1 {
		t.Fatalf("Incr after the window = %d, %v; want 1", n, err)
	}
}

// SAdd (re)sets the TTL of the whole set.
func ephemeralExpirySets(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	var k string
	quickly(t, func(attempt int) {
		k = key("refreshed", attempt)
		if err := s.SAdd(ctx, k, shortTTL, "a"); err != nil {
			t.Fatalf("SAdd: %v", err)
		}
		if err := s.SAdd(ctx, k, longTTL, "b"); err != nil {
			t.Fatalf("SAdd: %v", err)
		}
	})
	if err := s.SAdd(ctx, "lapsed", shortTTL, "x", "y"); err != nil {
		t.Fatalf("SAdd: %v", err)
	}
	sleepUntil(time.Now().Add(expiryWait))

	got, err := s.SMembers(ctx, k)
	sort.Strings(got)
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("SMembers of a refreshed set = %q, %v; want [a b]", got, err)
	}
	if got, err := s.SMembers(ctx, "lapsed"); err != nil || len(got) != 0 {
		t.Fatalf("SMembers of an expired set = %q, %v; want none", got, err)
	}
}
