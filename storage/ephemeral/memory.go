package ephemeral

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"time"

	"gatehouse/storage"
)

const (
	// shardCount spreads keys over independent locks so that concurrent
	// requests touching different flows do not queue behind one mutex.
	shardCount = 32
	// janitorInterval bounds how long expired entries occupy memory. Reads
	// never see them regardless, so this only matters for memory use.
	janitorInterval = 30 * time.Second
)

// Memory is the in-process Ephemeral store. It is safe for concurrent use.
// Expired entries read as absent and are evicted by a background janitor
// until Close.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard

	hub hub

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ storage.Ephemeral = (*Memory)(nil)

type shard struct {
	mu      sync.Mutex
	entries map[string]entry
}

// entry holds a value, a counter or a set. A counter reads as its decimal
// value, as in Redis; keeping it as a number spares Incr a parse and an
// allocation on every call.
type entry struct {
	value     []byte
	set       map[string]struct{} // non-nil for a set
	count     int64
	isCounter bool
	expires   time.Time
}

// bytes returns a fresh copy of the value of a value or counter entry.
func (e entry) bytes() []byte {
	if e.isCounter {
		return strconv.AppendInt(make([]byte, 0, 20), e.count, 10)
	}
	return clone(e.value)
}

func (e entry) expired(now time.Time) bool { return !now.Before(e.expires) }

// NewMemory returns an in-process store reading time from now (time.Now when
// nil) and starts its janitor; call Close to stop it.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{
		now:  now,
		seed: maphash.MakeSeed(),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for i := range m.shards {
		m.shards[i].entries = make(map[string]entry)
	}
	m.hub.subs = make(map[string]map[*memorySub]struct{})
	go m.janitor()
	return m
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%shardCount]
}

// live returns the entry under key if it exists and has not expired,
// deleting it when it has. The caller holds s.mu.
func (s *shard) live(key string, now time.Time) (entry, bool) {
	e, ok := s.entries[key]
	if !ok {
		return entry{}, false
	}
	if e.expired(now) {
		delete(s.entries, key)
		return entry{}, false
	}
	return e, true
}

func wrongType(key, want string) error {
	return fmt.Errorf("%w: %q is not a %s", ErrWrongType, key, want)
}

// clone copies b so that callers can never alias stored bytes. It returns a
// non-nil slice even for an empty value: MGet tells empty from absent by nil.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, m.now())
	if !ok {
		return nil, storage.ErrNotFound
	}
	if e.set != nil {
		return nil, wrongType(key, "value")
	}
	return e.bytes(), nil
}

// MGet locks one shard at a time, so it is not a snapshot across shards;
// neither is Redis MGET across a cluster, and no caller needs one.
func (m *Memory) MGet(ctx context.Context, keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	now := m.now()
	for i, key := range keys {
		s := m.shard(key)
		s.mu.Lock()
		if e, ok := s.live(key, now); ok && e.set == nil {
			out[i] = e.bytes()
		}
		s.mu.Unlock()
	}
	return out, nil
}

func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	v := clone(value)
	s := m.shard(key)
	s.mu.Lock()
	s.entries[key] = entry{value: v, expires: m.now().Add(ttl)}
	s.mu.Unlock()
	return nil
}

func (m *Memory) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	v := clone(value)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	if _, ok := s.live(key, now); ok {
		return false, nil
	}
	s.entries[key] = entry{value: v, expires: now.Add(ttl)}
	return true, nil
}

func (m *Memory) Take(ctx context.Context, key string) ([]byte, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, m.now())
	if !ok {
		return nil, storage.ErrNotFound
	}
	if e.set != nil {
		return nil, wrongType(key, "value")
	}
	delete(s.entries, key)
	if e.isCounter {
		return e.bytes(), nil
	}
	// The stored slice is no longer reachable from the map: no copy needed.
	return e.value, nil
}

func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		s := m.shard(key)
		s.mu.Lock()
		delete(s.entries, key)
		s.mu.Unlock()
	}
	return nil
}

// Incr follows Redis: a counter is a decimal value, a value holding a decimal
// number counts on from it, and the expiry is set when the increment yields
// 1, which is when the counter was created.
func (m *Memory) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	e, ok := s.live(key, now)
	switch {
	case !ok:
		e = entry{isCounter: true}
	case e.set != nil:
		return 0, wrongType(key, "counter")
	case !e.isCounter:
		n, err := strconv.ParseInt(string(e.value), 10, 64)
		if err != nil {
			return 0, wrongType(key, "counter")
		}
		e = entry{isCounter: true, count: n, expires: e.expires}
	}
	if e.count == math.MaxInt64 {
		return 0, fmt.Errorf("%w: counter %q would overflow", ErrWrongType, key)
	}
	e.count++
	if e.count == 1 {
		e.expires = now.Add(ttl)
	}
	s.entries[key] = e
	return e.count, nil
}

func (m *Memory) SAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	e, ok := s.live(key, now)
	if ok && e.set == nil {
		return wrongType(key, "set")
	}
	if !ok {
		e.set = make(map[string]struct{}, len(members))
	}
	for _, mem := range members {
		e.set[mem] = struct{}{}
	}
	e.expires = now.Add(ttl)
	s.entries[key] = e
	return nil
}

func (m *Memory) SMembers(ctx context.Context, key string) ([]string, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, m.now())
	if !ok {
		return []string{}, nil
	}
	if e.set == nil {
		return nil, wrongType(key, "set")
	}
	out := make([]string, 0, len(e.set))
	for mem := range e.set {
		out = append(out, mem)
	}
	return out, nil
}

// SRem deletes the set once its last member is gone, as Redis does, so an
// emptied set does not linger until its TTL.
func (m *Memory) SRem(ctx context.Context, key string, members ...string) error {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, m.now())
	if !ok {
		return nil
	}
	if e.set == nil {
		return wrongType(key, "set")
	}
	for _, mem := range members {
		delete(e.set, mem)
	}
	if len(e.set) == 0 {
		delete(s.entries, key)
	}
	return nil
}

func (m *Memory) Ping(ctx context.Context) error { return nil }

// Close stops the janitor and ends every subscription. The key space stays
// usable, so a late request during shutdown does not fail.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.done
		m.hub.close()
	})
	return nil
}

func (m *Memory) janitor() {
	defer close(m.done)
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sweep()
		}
	}
}

// sweep evicts expired entries one shard at a time, so readers wait at most
// for one shard's scan, and returns how many it removed.
func (m *Memory) sweep() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		now := m.now()
		for k, e := range s.entries {
			if e.expired(now) {
				delete(s.entries, k)
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}
