package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/storage"
)

// RunEphemeral checks that a storage.Ephemeral backend keeps the contract the
// rest of Gatehouse relies on. newStore is called once per subtest, from
// subtests running in parallel, and must return an empty store that the test
// cleans up (ephemeraltest.Memory and ephemeraltest.Redis do).
//
// Expiry is checked against the wall clock with TTLs around a second, since a
// Redis server keeps its own time; those subtests run in parallel so the
// whole suite waits for expiry only once.
func RunEphemeral(t *testing.T, newStore func(t *testing.T) storage.Ephemeral) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Ephemeral)
	}{
		{"GetSetDelete", ephemeralGetSetDelete},
		{"ValuesAreCopied", ephemeralValuesAreCopied},
		{"MGetWithGaps", ephemeralMGet},
		{"SetNXOnlyOnce", ephemeralSetNX},
		{"SetNXConcurrent", ephemeralSetNXConcurrent},
		{"TakeOnce", ephemeralTake},
		{"TakeConcurrent", ephemeralTakeConcurrent},
		{"Incr", ephemeralIncr},
		{"IncrConcurrent", ephemeralIncrConcurrent},
		{"Sets", ephemeralSets},
		{"WrongType", ephemeralWrongType},
		{"TTLRequired", ephemeralTTLRequired},
		{"ExpiryValues", ephemeralExpiryValues},
		{"ExpiryIncrFirstTTL", ephemeralExpiryIncr},
		{"ExpirySets", ephemeralExpirySets},
		{"PubSubTwoSubscribers", ephemeralPubSubFanOut},
		{"PubSubChannelsApart", ephemeralPubSubChannels},
		{"PubSubEndsWithContext", ephemeralPubSubEnds},
		{"Ping", ephemeralPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// The expiry subtests store keys with shortTTL next to keys with longTTL,
// wait until shortTTL has surely passed, and check only that the short keys
// are gone and the long ones remain: no assertion depends on the machine
// being fast.
const (
	shortTTL = 1100 * time.Millisecond
	longTTL  = time.Hour
	// expiryWait is how long after the short keys were written the subtests
	// look again; the slack covers Redis's millisecond rounding.
	expiryWait = shortTTL + 250*time.Millisecond
	// patience bounds every wait for something that should happen at once
	// (a message, a closed channel), so a broken backend fails instead of
	// hanging the suite.
	patience = 10 * time.Second
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustSet(t *testing.T, s storage.Ephemeral, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(ctxFor(t), key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s storage.Ephemeral, key, want string) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantAbsent(t *testing.T, s storage.Ephemeral, key string) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

// sleepUntil waits until deadline on the wall clock.
func sleepUntil(deadline time.Time) {
	time.Sleep(time.Until(deadline))
}

func key(prefix string, i int) string { return fmt.Sprintf("%s:%d", prefix, i) }

func ephemeralPing(t *testing.T, s storage.Ephemeral) {
	if err := s.Ping(ctxFor(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
