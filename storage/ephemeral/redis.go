package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse/storage"
)

// Defaults applied when the URL does not set them. They keep a request from
// hanging when Redis is down: a dead server costs at most a dial timeout per
// attempt, and one retry.
const (
	defaultDialTimeout  = 2 * time.Second
	defaultReadTimeout  = time.Second
	defaultWriteTimeout = time.Second
	defaultPoolTimeout  = 2 * time.Second
	defaultMaxRetries   = 1
	// defaultDialRetries is the number of dial attempts per connection:
	// one, since MaxRetries already retries the command.
	defaultDialRetries = 1
)

// Redis is the Ephemeral store shared by every node. Every key and channel is
// prefixed, so tenants and test runs can share one server.
type Redis struct {
	client *redis.Client
	prefix string

	// mu orders Subscribe against Close, so no subscription starts once
	// Close is waiting for the others to end.
	mu     sync.Mutex
	closed bool
	stop   chan struct{}
	subs   sync.WaitGroup
}

var _ storage.Ephemeral = (*Redis)(nil)

// incrScript increments a counter and starts its TTL when it is created, in
// one round trip and atomically: a crash between INCR and PEXPIRE would
// otherwise leave a lockout counter that never expires.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
`)

// saddScript adds ARGV[2:] to the set and sets its TTL to ARGV[1] ms. It
// adds in batches because unpack is bounded by the Lua stack.
var saddScript = redis.NewScript(`
for i = 2, #ARGV, 1000 do
	redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0
`)

// NewRedis connects to the server at url (redis:// or rediss://, as parsed by
// redis.ParseURL) and checks it answers. Keys and channels are prefixed with
// prefix verbatim, so end it with a separator such as ':'. An unreachable
// server is an error wrapping storage.ErrUnavailable.
func NewRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ephemeral: redis.url: %w", err)
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = defaultDialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = defaultReadTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = defaultWriteTimeout
	}
	if opt.PoolTimeout == 0 {
		opt.PoolTimeout = defaultPoolTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = defaultMaxRetries
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = defaultDialRetries
	}
	// CLIENT SETINFO costs a round trip per new connection and older
	// servers reject it; nothing of ours reads it.
	opt.DisableIdentity = true

	r := &Redis{
		client: redis.NewClient(opt),
		prefix: prefix,
		stop:   make(chan struct{}),
	}
	if err := r.Ping(ctx); err != nil {
		_ = r.client.Close()
		return nil, err
	}
	return r, nil
}

// Prefix is the string put before every key and channel name.
func (r *Redis) Prefix() string { return r.prefix }

func (r *Redis) key(k string) string { return r.prefix + k }

// fail maps a go-redis error onto the storage contract: a missing key is
// ErrNotFound, a type clash ErrWrongType, and anything else (refused
// connection, timeout, server loading or read-only, cancelled context) wraps
// ErrUnavailable.
func fail(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return storage.ErrNotFound
	case redis.HasErrorPrefix(err, "WRONGTYPE"),
		redis.HasErrorPrefix(err, "value is not an integer"),
		redis.HasErrorPrefix(err, "increment or decrement would overflow"):
		return fmt.Errorf("ephemeral: redis %s: %w: %v", op, ErrWrongType, err)
	default:
		return fmt.Errorf("ephemeral: redis %s: %w: %w", op, storage.ErrUnavailable, err)
	}
}

func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := r.client.Get(ctx, r.key(key)).Bytes()
	if err != nil {
		return nil, fail("get", err)
	}
	return nonNil(b), nil
}

// nonNil keeps an empty stored value distinguishable from an absent one.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (r *Redis) MGet(ctx context.Context, keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	pk := make([]string, len(keys))
	for i, k := range keys {
		pk[i] = r.key(k)
	}
	vals, err := r.client.MGet(ctx, pk...).Result()
	if err != nil {
		return nil, fail("mget", err)
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = []byte(s)
		}
	}
	return out, nil
}

func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	return fail("set", r.client.Set(ctx, r.key(key), value, ttl).Err())
}

func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	ok, err := r.client.SetNX(ctx, r.key(key), value, ttl).Result()
	if err != nil {
		return false, fail("setnx", err)
	}
	return ok, nil
}

// Take uses GETDEL, which Redis runs atomically: of racing callers exactly
// one sees the value.
func (r *Redis) Take(ctx context.Context, key string) ([]byte, error) {
	b, err := r.client.GetDel(ctx, r.key(key)).Bytes()
	if err != nil {
		return nil, fail("getdel", err)
	}
	return nonNil(b), nil
}

func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	pk := make([]string, len(keys))
	for i, k := range keys {
		pk[i] = r.key(k)
	}
	return fail("del", r.client.Del(ctx, pk...).Err())
}

func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	n, err := incrScript.Run(ctx, r.client, []string{r.key(key)}, millis(ttl)).Int64()
	if err != nil {
		return 0, fail("incr", err)
	}
	return n, nil
}

// millis rounds a sub-millisecond TTL up: PEXPIRE 0 would delete the key.
func millis(ttl time.Duration) int64 {
	return max(1, ttl.Milliseconds())
}

// SAdd adds and sets the TTL in one script, so the set never exists without
// an expiry, and a call that fails (the key holds a value) changes nothing:
// under MULTI the PEXPIRE would still have run.
func (r *Redis) SAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	args := make([]any, 0, 1+len(members))
	args = append(args, millis(ttl))
	for _, m := range members {
		args = append(args, m)
	}
	return fail("sadd", saddScript.Run(ctx, r.client, []string{r.key(key)}, args...).Err())
}

func (r *Redis) SMembers(ctx context.Context, key string) ([]string, error) {
	m, err := r.client.SMembers(ctx, r.key(key)).Result()
	if err != nil {
		return nil, fail("smembers", err)
	}
	return m, nil
}

func (r *Redis) SRem(ctx context.Context, key string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	return fail("srem", r.client.SRem(ctx, r.key(key), args...).Err())
}

// Ping reports whether Redis answers; it backs the readiness probe.
func (r *Redis) Ping(ctx context.Context) error {
	return fail("ping", r.client.Ping(ctx).Err())
}

// Close ends every subscription and closes the connection pool.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stop)
	r.mu.Unlock()
	r.subs.Wait()
	return r.client.Close()
}
