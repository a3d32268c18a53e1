package ephemeral_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
)

func TestSmoke(t *testing.T) {
	for name, s := range map[string]storage.Ephemeral{
		"memory": ephemeraltest.Memory(t),
		"redis":  ephemeraltest.Redis(t),
	} {
		ctx := context.Background()
		if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
			t.Fatal(name, err)
		}
		if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
			t.Fatal(name, v, err)
		}
		if n, err := s.Incr(ctx, "c", time.Minute); err != nil || n != 1 {
			t.Fatal(name, n, err)
		}
		if _, err := s.Take(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(name, err)
		}
	}
}
