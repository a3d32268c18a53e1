package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"runtime"
	"sync"

	"github.com/ory/fosite"

	"gatehouse/passwords"
)

// secretHasher is fosite's Hasher for client secrets stored as argon2id PHC
// strings. Client secrets are high-entropy, so once a secret has verified
// against a hash, remembering SHA-256(hash || secret) is as good a check as
// argon2 and costs nothing: the token endpoint pays argon2 once per secret
// per node, not once per request (DESIGN.md, hot paths). A rotated secret has
// a new hash and therefore a new cache key.
type secretHasher struct {
	mu       sync.RWMutex
	verified map[[sha256.Size]byte]struct{}
	// slow bounds concurrent argon2 work, so a flood of wrong secrets
	// queues instead of exhausting memory.
	slow chan struct{}
}

// maxVerifiedSecrets bounds the cache; past it the cache starts over.
const maxVerifiedSecrets = 10000

// maxSecretLen bounds what a caller can make argon2 hash.
const maxSecretLen = 1024

var errSecretMismatch = errors.New("oidc: client secret does not match")

func newSecretHasher() *secretHasher {
	return &secretHasher{
		verified: map[[sha256.Size]byte]struct{}{},
		slow:     make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
}

var _ fosite.Hasher = (*secretHasher)(nil)

// Compare reports nil when data is the secret hash was made from.
func (h *secretHasher) Compare(ctx context.Context, hash, data []byte) error {
	if len(hash) == 0 || len(data) == 0 || len(data) > maxSecretLen {
		return errSecretMismatch
	}
	d := sha256.New()
	d.Write(hash)
	d.Write([]byte{0})
	d.Write(data)
	var key [sha256.Size]byte
	d.Sum(key[:0])

	h.mu.RLock()
	_, ok := h.verified[key]
	h.mu.RUnlock()
	if ok {
		return nil
	}

	select {
	case h.slow <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	match, _, err := passwords.Verify(passwords.DefaultParams, string(hash), string(data))
	<-h.slow
	if err != nil {
		return err
	}
	if !match {
		return errSecretMismatch
	}
	h.mu.Lock()
	if len(h.verified) >= maxVerifiedSecrets {
		clear(h.verified)
	}
	h.verified[key] = struct{}{}
	h.mu.Unlock()
	return nil
}

// Hash makes the argon2id PHC string of a new secret.
func (h *secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	s, err := passwords.Hash(passwords.DefaultParams, string(data))
	return []byte(s), err
}
