package ephemeral

import (
	"context"
	"time"

	"gatehouse/storage"
)

// Open returns the store the configuration asks for: Redis at redisURL with
// keys under prefix, or, when redisURL is empty, an in-process Memory store
// (one node only) on the wall clock.
func Open(ctx context.Context, redisURL, prefix string) (storage.Ephemeral, error) {
	if redisURL == "" {
		return NewMemory(time.Now), nil
	}
	return NewRedis(ctx, redisURL, prefix)
}
