package conformance

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"gatehouse/storage"
)

func ephemeralGetSetDelete(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	wantAbsent(t, s, "flow:1")

	mustSet(t, s, "flow:1", "first", longTTL)
	wantValue(t, s, "flow:1", "first")
	mustSet(t, s, "flow:1", "second", longTTL)
	wantValue(t, s, "flow:1", "second")

	// Values are bytes, not text.
	binary := []byte{0, 1, 0xfe, 0xff, '\n', 0}
	if err := s.Set(ctx, "bin", binary, longTTL); err != nil {
		t.Fatalf("Set(bin): %v", err)
	}
	if got, err := s.Get(ctx, "bin"); err != nil || !bytes.Equal(got, binary) {
		t.Fatalf("Get(bin) = %v, %v; want %v", got, err, binary)
	}
	// An empty value is present, and not nil.
	if err := s.Set(ctx, "empty", nil, longTTL); err != nil {
		t.Fatalf("Set(empty): %v", err)
	}
	if got, err := s.Get(ctx, "empty"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %#v, %v; want an empty non-nil value", got, err)
	}

	mustSet(t, s, "flow:2", "two", longTTL)
	mustSet(t, s, "flow:3", "three", longTTL)
	if err := s.Delete(ctx, "flow:1", "flow:2", "never-set"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantAbsent(t, s, "flow:1")
	wantAbsent(t, s, "flow:2")
	wantValue(t, s, "flow:3", "three")
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Delete with no keys: %v", err)
	}
	if err := s.Delete(ctx, "never-set"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
}

// A caller reusing its buffer must not change what is stored, and a reader
// editing what it got must not change what the next reader sees.
func ephemeralValuesAreCopied(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	buf := []byte("original")
	if err := s.Set(ctx, "k", buf, longTTL); err != nil {
		t.Fatalf("Set: %v", err)
	}
	copy(buf, "XXXXXXXX")
	got, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(got) != "original" {
		t.Fatalf("Get after the caller reused its buffer = %q, want %q", got, "original")
	}
	copy(got, "YYYYYYYY")
	wantValue(t, s, "k", "original")
	vals, err := s.MGet(ctx, "k")
	if err != nil {
		t.Fatalf("MGet: %v", err)
	}
	copy(vals[0], "ZZZZZZZZ")
	wantValue(t, s, "k", "original")
}

func ephemeralMGet(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	mustSet(t, s, "a", "A", longTTL)
	mustSet(t, s, "c", "C", longTTL)
	mustSet(t, s, "e", "", longTTL)
	if err := s.SAdd(ctx, "set", longTTL, "m"); err != nil {
		t.Fatalf("SAdd: %v", err)
	}

	got, err := s.MGet(ctx, "a", "b", "c", "d", "e", "set", "a")
	if err != nil {
		t.Fatalf("MGet: %v", err)
	}
	want := []string{"A", "", "C", "", "", "", "A"}
	present := []bool{true, false, true, false, true, false, true}
	if len(got) != len(want) {
		t.Fatalf("MGet returned %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if (got[i] != nil) != present[i] || string(got[i]) != want[i] {
			t.Errorf("MGet entry %d = %#v, want %q (present %v)", i, got[i], want[i], present[i])
		}
	}

	none, err := s.MGet(ctx)
	if err != nil || len(none) != 0 {
		t.Fatalf("MGet() = %v, %v; want no entries", none, err)
	}
}

func ephemeralSetNX(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	ok, err := s.SetNX(ctx, "replay:jti", []byte("first"), longTTL)
	if err != nil || !ok {
		t.Fatalf("first SetNX = %v, %v; want true", ok, err)
	}
	ok, err = s.SetNX(ctx, "replay:jti", []byte("second"), longTTL)
	if err != nil || ok {
		t.Fatalf("second SetNX = %v, %v; want false", ok, err)
	}
	wantValue(t, s, "replay:jti", "first")

	if err := s.Delete(ctx, "replay:jti"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	ok, err = s.SetNX(ctx, "replay:jti", []byte("third"), longTTL)
	if err != nil || !ok {
		t.Fatalf("SetNX after Delete = %v, %v; want true", ok, err)
	}
	wantValue(t, s, "replay:jti", "third")
}

const racers = 32

// race runs f from racers goroutines released together and returns once all
// have finished.
func race(f func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range racers {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			f(i)
		}()
	}
	start.Done()
	done.Wait()
}

func ephemeralSetNXConcurrent(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	for round := range 10 {
		k := key("nx", round)
		var mu sync.Mutex
		won, errs := 0, []error{}
		race(func(i int) {
			ok, err := s.SetNX(ctx, k, []byte{byte(i)}, longTTL)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				won++
			}
		})
		if len(errs) > 0 {
			t.Fatalf("round %d: SetNX errors: %v", round, errs)
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d concurrent SetNX calls succeeded, want exactly 1", round, won, racers)
		}
	}
}

func ephemeralTake(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	mustSet(t, s, "code:abc", "grant", longTTL)
	got, err := s.Take(ctx, "code:abc")
	if err != nil || string(got) != "grant" {
		t.Fatalf("Take = %q, %v; want %q", got, err, "grant")
	}
	if got, err := s.Take(ctx, "code:abc"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second Take = %q, %v; want ErrNotFound", got, err)
	}
	wantAbsent(t, s, "code:abc")
	if _, err := s.Take(ctx, "never-set"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Take of an absent key: %v; want ErrNotFound", err)
	}
	if err := s.Set(ctx, "empty", []byte{}, longTTL); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := s.Take(ctx, "empty"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Take(empty) = %#v, %v; want an empty non-nil value", got, err)
	}
}

// An authorization code or one-time link redeemed by racing requests must be
// redeemed by exactly one of them.
func ephemeralTakeConcurrent(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	for round := range 10 {
		k := key("code", round)
		mustSet(t, s, k, "grant", longTTL)
		var mu sync.Mutex
		won, errs := 0, []error{}
		race(func(int) {
			got, err := s.Take(ctx, k)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && string(got) == "grant":
				won++
			case errors.Is(err, storage.ErrNotFound):
			default:
				errs = append(errs, err)
			}
		})
		if len(errs) > 0 {
			t.Fatalf("round %d: Take errors: %v", round, errs)
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d concurrent Take calls got the value, want exactly 1", round, won, racers)
		}
	}
}

// A key holding a set read as a value (or the reverse) is a programming
// error: it must fail, and must not look like a missing key or an outage.
func ephemeralWrongType(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	if err := s.SAdd(ctx, "set", longTTL, "m"); err != nil {
		t.Fatalf("SAdd: %v", err)
	}
	mustSet(t, s, "value", "not a number", longTTL)
	checks := map[string]error{}
	_, checks["Get on a set"] = s.Get(ctx, "set")
	_, checks["Take on a set"] = s.Take(ctx, "set")
	_, checks["Incr on a set"] = s.Incr(ctx, "set", longTTL)
	_, checks["Incr on text"] = s.Incr(ctx, "value", longTTL)
	_, checks["SMembers on a value"] = s.SMembers(ctx, "value")
	checks["SAdd on a value"] = s.SAdd(ctx, "value", longTTL, "m")
	checks["SRem on a value"] = s.SRem(ctx, "value", "m")
	for what, err := range checks {
		if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s: %v; want an error that is neither ErrNotFound nor ErrUnavailable", what, err)
		}
	}
	// The failed calls changed nothing.
	wantValue(t, s, "value", "not a number")
	if m, err := s.SMembers(ctx, "set"); err != nil || len(m) != 1 {
		t.Fatalf("SMembers(set) = %v, %v; want [m]", m, err)
	}
	// Set replaces whatever the key held.
	mustSet(t, s, "set", "now a value", longTTL)
	wantValue(t, s, "set", "now a value")
}

// Every value has a time to live: a zero or negative TTL is refused rather
// than read as "keep forever".
func ephemeralTTLRequired(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	for _, d := range []time.Duration{0, -time.Second} {
		if err := s.Set(ctx, "k", []byte("v"), d); err == nil {
			t.Errorf("Set with ttl %s succeeded, want an error", d)
		}
		if _, err := s.SetNX(ctx, "k", []byte("v"), d); err == nil {
			t.Errorf("SetNX with ttl %s succeeded, want an error", d)
		}
		if _, err := s.Incr(ctx, "n", d); err == nil {
			t.Errorf("Incr with ttl %s succeeded, want an error", d)
		}
		if err := s.SAdd(ctx, "s", d, "m"); err == nil {
			t.Errorf("SAdd with ttl %s succeeded, want an error", d)
		}
	}
	wantAbsent(t, s, "k")
	wantAbsent(t, s, "n")
}
