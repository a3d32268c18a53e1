package federation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// pending is one trip to an upstream provider, kept in the ephemeral store
// under its state (OIDC state, SAML RelayState) until the browser returns:
// taken once, so a second return with the same state finds nothing.
type pending struct {
	Type         string `json:"type"` // TypeOIDC or TypeSAML
	ConnectionID string `json:"connection_id"`
	FlowID       string `json:"flow_id"`
	UserID       string `json:"user_id"` // the user the flow identified
	Nonce        string `json:"nonce,omitempty"`
	Verifier     string `json:"verifier,omitempty"`   // PKCE code verifier
	RequestID    string `json:"request_id,omitempty"` // SAML AuthnRequest ID
}

// verified is an upstream identity the SAML ACS has verified, waiting for
// the browser at /continue, where the flow's cookie can be read.
type verified struct {
	Pending  pending  `json:"pending"`
	Identity identity `json:"identity"`
	// Failure is set instead of Identity when the Response was refused.
	Failure *failure `json:"failure,omitempty"`
}

// identity is who the upstream provider says signed in.
type identity struct {
	Subject string `json:"subject,omitempty"` // stable subject; "" when the upstream gives none (transient NameID)
	Email   string `json:"email,omitempty"`
	// EmailVerified is the OIDC email_verified claim when sent.
	EmailVerified *bool `json:"email_verified,omitempty"`
}

// Ephemeral keys.
func stateKey(state string) string { return "fed:state:" + state }
func usedKey(state string) string  { return "fed:used:" + state }
func resultKey(tok string) string  { return "fed:result:" + tok }
func assertionKey(connID, assertionID string) string {
	sum := sha256.Sum256([]byte(assertionID))
	return "fed:assertion:" + connID + ":" + hex.EncodeToString(sum[:16])
}

// resultTTL is how long a verified SAML identity waits for the browser,
// which is redirected at once.
const resultTTL = 2 * time.Minute

// newState returns a fresh random state.
func newState() string { return web.RandomToken(24) }

// validToken accepts only what web.RandomToken makes, so that input from
// outside never reaches the store as a key.
func validToken(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// putState stores p under a new state and returns the state.
func (f *Federation) putState(ctx context.Context, p pending, ttl time.Duration) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	state := newState()
	if err := f.eph.Set(ctx, stateKey(state), b, ttl); err != nil {
		return "", err
	}
	return state, nil
}

// Why a state was not found.
var (
	errStateUnknown = errors.New("federation: unknown or expired state")
	errStateUsed    = errors.New("federation: state already used")
)

// takeState consumes a state. A state seen before is errStateUsed (a
// replayed response); one never issued, or expired, errStateUnknown.
func (f *Federation) takeState(ctx context.Context, state string) (pending, error) {
	if !validToken(state) {
		return pending{}, errStateUnknown
	}
	b, err := f.eph.Take(ctx, stateKey(state))
	if errors.Is(err, storage.ErrNotFound) {
		if _, err := f.eph.Get(ctx, usedKey(state)); err == nil {
			return pending{}, errStateUsed
		} else if !errors.Is(err, storage.ErrNotFound) {
			return pending{}, err
		}
		return pending{}, errStateUnknown
	}
	if err != nil {
		return pending{}, err
	}
	var p pending
	if err := json.Unmarshal(b, &p); err != nil {
		return pending{}, errStateUnknown
	}
	// Remember the state was used, so that a replay is told apart from a
	// stale link (and audited).
	if err := f.eph.Set(ctx, usedKey(state), []byte(p.ConnectionID), f.cfg.StateTTL); err != nil {
		return pending{}, err
	}
	return p, nil
}

// stateTTL is how long a trip upstream may take: StateTTL, but never past
// the flow's own end.
func (f *Federation) stateTTL(flowExpires time.Time) time.Duration {
	ttl := f.cfg.StateTTL
	if left := flowExpires.Sub(f.now()); left < ttl {
		ttl = left
	}
	if ttl < time.Second {
		ttl = time.Second
	}
	return ttl
}
