package oidc

import (
	"crypto/sha256"
	"sync"
)

// verifiedTokens remembers access tokens whose signature, type and issuer
// checked out, so that a token presented again (a resource server
// introspecting it on every call, a client calling UserInfo) costs a
// SHA-256 instead of an ECDSA verification, the largest part of those
// paths (DESIGN.md, hot paths). Only what the signature proves is
// remembered: expiry is checked on every use, the signing key must still be
// trusted, and revocation is read from the store on every request as
// before.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	kid    string
	claims accessClaims
}

// maxVerifiedTokens bounds the cache (a few hundred bytes an entry); past it
// the cache starts over, and the next use of each token verifies again.
const maxVerifiedTokens = 20000

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{m: map[[sha256.Size]byte]verifiedToken{}}
}

func (v *verifiedTokens) get(sum [sha256.Size]byte) (verifiedToken, bool) {
	v.mu.RLock()
	t, ok := v.m[sum]
	v.mu.RUnlock()
	return t, ok
}

func (v *verifiedTokens) put(sum [sha256.Size]byte, t verifiedToken) {
	v.mu.Lock()
	if len(v.m) >= maxVerifiedTokens {
		clear(v.m)
	}
	v.m[sum] = t
	v.mu.Unlock()
}
