package conformance

import (
	"errors"
	"slices"
	"sort"
	"testing"

	"gatehouse/storage"
)

func ephemeralSets(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	members := func(key string) []string {
		t.Helper()
		m, err := s.SMembers(ctx, key)
		if err != nil {
			t.Fatalf("SMembers(%q): %v", key, err)
		}
		sort.Strings(m)
		return m
	}
	wantMembers := func(key string, want ...string) {
		t.Helper()
		if got := members(key); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("SMembers(%q) = %q, want %q", key, got, want)
		}
	}

	wantMembers("sessions:alice")
	if err := s.SAdd(ctx, "sessions:alice", longTTL, "s1", "s2", "s2"); err != nil {
		t.Fatalf("SAdd: %v", err)
	}
	if err := s.SAdd(ctx, "sessions:alice", longTTL, "s2", "s3", "with space", ""); err != nil {
		t.Fatalf("SAdd: %v", err)
	}
	wantMembers("sessions:alice", "", "s1", "s2", "s3", "with space")
	wantMembers("sessions:bob")

	if err := s.SRem(ctx, "sessions:alice", "s2", "not-a-member"); err != nil {
		t.Fatalf("SRem: %v", err)
	}
	wantMembers("sessions:alice", "", "s1", "s3", "with space")

	if err := s.SAdd(ctx, "sessions:alice", longTTL); err != nil {
		t.Fatalf("SAdd with no members: %v", err)
	}
	if err := s.SRem(ctx, "sessions:alice"); err != nil {
		t.Fatalf("SRem with no members: %v", err)
	}
	if err := s.SRem(ctx, "sessions:nobody", "s1"); err != nil {
		t.Fatalf("SRem on an absent set: %v", err)
	}

	// Removing the last member removes the set.
	if err := s.SRem(ctx, "sessions:alice", "", "s1", "s3", "with space"); err != nil {
		t.Fatalf("SRem: %v", err)
	}
	wantMembers("sessions:alice")
	if _, err := s.Get(ctx, "sessions:alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get of an emptied set: %v; want ErrNotFound", err)
	}

	if err := s.Delete(ctx, "sessions:alice"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.SAdd(ctx, "sessions:carol", longTTL, "c1"); err != nil {
		t.Fatalf("SAdd: %v", err)
	}
	if err := s.Delete(ctx, "sessions:carol"); err != nil {
		t.Fatalf("Delete of a set: %v", err)
	}
	wantMembers("sessions:carol")
}
