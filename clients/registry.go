package clients

import (
	"context"
	"sync"
	"time"

	"gatehouse/storage"
)

// Channel is the ephemeral-store pub/sub channel on which a change to any
// relying party is announced.
const Channel = "clients.changed"

// Registry caches relying parties in memory. It is safe for concurrent use.
type Registry struct {
	store storage.RelyingParties
	eph   storage.Ephemeral
	ttl   time.Duration
	now   func() time.Time

	mu      sync.RWMutex
	clients map[string]cached[storage.Client]
	sps     map[string]cached[storage.ServiceProvider]
}

type cached[T any] struct {
	v       T
	err     error // ErrNotFound is cached too, briefly, against probing
	expires time.Time
}

// NewRegistry returns a registry over store. eph may be nil (one node).
// ttl bounds how stale an entry can be when a change notice is lost.
func NewRegistry(store storage.RelyingParties, eph storage.Ephemeral, ttl time.Duration, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	return &Registry{store: store, eph: eph, ttl: ttl, now: now,
		clients: map[string]cached[storage.Client]{}, sps: map[string]cached[storage.ServiceProvider]{}}
}

// Client returns an OIDC client by id.
func (r *Registry) Client(ctx context.Context, id string) (storage.Client, error) {
	return lookup(r, r.clients, id, func() (storage.Client, error) { return r.store.GetClient(ctx, id) })
}

// ServiceProvider returns a SAML service provider by entity id.
func (r *Registry) ServiceProvider(ctx context.Context, entityID string) (storage.ServiceProvider, error) {
	return lookup(r, r.sps, entityID, func() (storage.ServiceProvider, error) { return r.store.GetServiceProvider(ctx, entityID) })
}

func lookup[T any](r *Registry, m map[string]cached[T], key string, load func() (T, error)) (T, error) {
	now := r.now()
	r.mu.RLock()
	c, ok := m[key]
	r.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.v, c.err
	}
	v, err := load()
	if err != nil && err != storage.ErrNotFound {
		var zero T
		return zero, err // do not cache a backend failure
	}
	r.mu.Lock()
	m[key] = cached[T]{v: v, err: err, expires: now.Add(r.ttl)}
	r.mu.Unlock()
	return v, err
}

// Forget drops every cached entry on this node.
func (r *Registry) Forget() {
	r.mu.Lock()
	clear(r.clients)
	clear(r.sps)
	r.mu.Unlock()
}

// Changed drops this node's cache and tells every other node to drop theirs.
// Call it after writing a relying party.
func (r *Registry) Changed(ctx context.Context) error {
	r.Forget()
	if r.eph == nil {
		return nil
	}
	return r.eph.Publish(ctx, Channel, "*")
}

// Watch drops the cache whenever another node announces a change, until
// ctx ends.
func (r *Registry) Watch(ctx context.Context) {
	if r.eph == nil {
		return
	}
	ch, err := r.eph.Subscribe(ctx, Channel)
	if err != nil {
		return // the TTL still bounds staleness
	}
	for range ch {
		r.Forget()
	}
}
