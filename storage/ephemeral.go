package storage

import (
	"context"
	"time"
)

// Ephemeral is the store of short-lived, hot data: sign-in flows, SSO
// sessions, authorization codes, PKCE and PAR requests, access-token records,
// WebAuthn challenges, one-time links, lockout and rate-limit counters and
// replay caches. Every value has a time to live. With Redis it is shared by
// every node; in process it serves one node.
//
// Errors reaching the backend wrap ErrUnavailable. A missing key is ErrNotFound.
type Ephemeral interface {
	Get(ctx context.Context, key string) ([]byte, error)
	// MGet returns one entry per key, nil where the key is absent.
	MGet(ctx context.Context, keys ...string) ([][]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value only if key is absent and reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Take returns the value and deletes the key atomically: of several
	// concurrent callers exactly one gets the value, the rest ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, keys ...string) error
	// Incr adds one to a counter and returns the new value. A counter that
	// did not exist starts at zero and expires after ttl.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)

	// SAdd adds members to a set and (re)sets the set's TTL.
	SAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error
	SMembers(ctx context.Context, key string) ([]string, error)
	SRem(ctx context.Context, key string, members ...string) error

	// Publish sends msg to every subscriber of channel, on every node.
	Publish(ctx context.Context, channel, msg string) error
	// Subscribe delivers channel's messages until ctx ends. Delivery is
	// best-effort: a message published while a node is disconnected is lost,
	// so subscribers also refresh on a timer.
	Subscribe(ctx context.Context, channel string) (<-chan string, error)

	Ping(ctx context.Context) error
	Close() error
}
