package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/storage"
)

// Algorithms Gatehouse signs with. RS256 is first: it is the default for ID
// tokens and the only one SAML uses.
var Algorithms = []string{"RS256", "ES256"}

// Channel is the ephemeral-store pub/sub channel a rotation is announced on.
const Channel = "keys.rotated"

// Key is a loaded signing key.
type Key struct {
	ID        string
	Alg       string
	Signer    crypto.Signer
	Active    bool
	CreatedAt time.Time
	RetiredAt time.Time
	// Certificate is a self-signed certificate over an RSA key, for SAML
	// metadata. It is derived deterministically from the key so every node
	// serves the same bytes.
	Certificate *x509.Certificate
}

// Public returns the public half.
func (k Key) Public() crypto.PublicKey { return k.Signer.Public() }

type keySet struct {
	all    []Key // newest first
	byID   map[string]Key
	active map[string]Key // by alg
	jwks   []byte
}

// Options tune a Manager.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// RetireAfter is how long a replaced key keeps verifying: the longest
	// lifetime of anything it signed, so the longest of the access, ID and
	// refresh token TTLs. Defaults to 30 days.
	RetireAfter time.Duration
	// RSABits is the RSA modulus size; 2048 when zero.
	RSABits int
}

// Manager loads, creates and rotates signing keys. It is safe for
// concurrent use; readers never block, because the loaded set is swapped
// whole.
type Manager struct {
	store storage.Keys
	box   *Box
	opts  Options
	mu    sync.Mutex // serialises writers
	state atomic.Pointer[keySet]
}

// NewManager returns a Manager with nothing loaded; call Ensure.
func NewManager(store storage.Keys, box *Box, opts Options) *Manager {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetireAfter == 0 {
		opts.RetireAfter = 30 * 24 * time.Hour
	}
	if opts.RSABits == 0 {
		opts.RSABits = 2048
	}
	m := &Manager{store: store, box: box, opts: opts}
	m.state.Store(&keySet{byID: map[string]Key{}, active: map[string]Key{}, jwks: []byte(`{"keys":[]}`)})
	return m
}

// Ensure creates an active key for every algorithm that has none, then loads.
func (m *Manager) Ensure(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx); err != nil {
		return err
	}
	set := m.state.Load()
	created := false
	for _, alg := range Algorithms {
		if _, ok := set.active[alg]; ok {
			continue
		}
		if err := m.create(ctx, alg); err != nil {
			return err
		}
		created = true
	}
	if created {
		return m.load(ctx)
	}
	return nil
}

// Load re-reads the keys from the store.
func (m *Manager) Load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load(ctx)
}

// Rotate adds a new active key for every algorithm, retires the keys it
// replaces, and deletes keys retired for longer than RetireAfter.
func (m *Manager) Rotate(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx); err != nil {
		return err
	}
	now := m.opts.Now().UTC()
	old := m.state.Load().all
	for _, alg := range Algorithms {
		if err := m.create(ctx, alg); err != nil {
			return err
		}
	}
	for _, k := range old {
		switch {
		case k.Active:
			_, err := m.store.UpdateKey(ctx, k.ID, func(s storage.SigningKey) (storage.SigningKey, error) {
				s.Active = false
				s.RetiredAt = now
				return s, nil
			})
			if err != nil {
				return err
			}
		case !k.RetiredAt.IsZero() && now.Sub(k.RetiredAt) > m.opts.RetireAfter:
			if err := m.store.DeleteKey(ctx, k.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
	}
	return m.load(ctx)
}

// Active returns the key that signs new tokens with alg.
func (m *Manager) Active(alg string) (Key, error) {
	k, ok := m.state.Load().active[alg]
	if !ok {
		return Key{}, fmt.Errorf("keys: no active %s key", alg)
	}
	return k, nil
}

// Lookup returns any key still trusted for verification by its kid.
func (m *Manager) Lookup(kid string) (Key, bool) {
	k, ok := m.state.Load().byID[kid]
	return k, ok
}

// All returns every key still trusted for verification, newest first.
func (m *Manager) All() []Key { return m.state.Load().all }

// JWKS returns the public keys as a JSON Web Key Set, serialised once per
// load so the endpoint only copies bytes.
func (m *Manager) JWKS() []byte { return m.state.Load().jwks }

// Watch reloads the keys whenever a rotation is announced on eph, and every
// interval regardless, so a node that missed the message still catches up.
// It returns when ctx ends.
func (m *Manager) Watch(ctx context.Context, eph storage.Ephemeral, interval time.Duration) {
	var notes <-chan string
	if eph != nil {
		if ch, err := eph.Subscribe(ctx, Channel); err == nil {
			notes = ch
		} else {
			m.opts.Logger.Warn("keys: cannot subscribe to rotations; polling only", "err", err)
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-notes:
			if !ok {
				notes = nil
				continue
			}
		case <-t.C:
		}
		if err := m.Load(ctx); err != nil && ctx.Err() == nil {
			m.opts.Logger.Warn("keys: reload failed", "err", err)
		}
	}
}

func (m *Manager) create(ctx context.Context, alg string) error {
	var signer crypto.Signer
	var err error
	switch alg {
	case "RS256":
		signer, err = rsa.GenerateKey(rand.Reader, m.opts.RSABits)
	case "ES256":
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return err
	}
	sealed, err := m.box.Seal(der)
	if err != nil {
		return err
	}
	return m.store.CreateKey(ctx, storage.SigningKey{
		ID:         thumbprint(signer.Public()),
		Alg:        alg,
		PrivateKey: sealed,
		Active:     true,
		CreatedAt:  m.opts.Now().UTC(),
	})
}

func (m *Manager) load(ctx context.Context) error {
	stored, err := m.store.ListKeys(ctx)
	if err != nil {
		return err
	}
	sort.SliceStable(stored, func(i, j int) bool { return stored[i].CreatedAt.After(stored[j].CreatedAt) })
	set := &keySet{byID: map[string]Key{}, active: map[string]Key{}}
	now := m.opts.Now()
	var jwks []jwk
	for _, s := range stored {
		if !s.Active && !s.RetiredAt.IsZero() && now.Sub(s.RetiredAt) > m.opts.RetireAfter {
			continue // past its verification window
		}
		der, err := m.box.Open(s.PrivateKey)
		if err != nil {
			return fmt.Errorf("keys: key %s: %w (is the encryption key the one it was created with?)", s.ID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("keys: key %s: %w", s.ID, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return fmt.Errorf("keys: key %s is not a signing key", s.ID)
		}
		k := Key{ID: s.ID, Alg: s.Alg, Signer: signer, Active: s.Active, CreatedAt: s.CreatedAt, RetiredAt: s.RetiredAt}
		if rk, ok := signer.(*rsa.PrivateKey); ok {
			if k.Certificate, err = certificate(rk, s.ID, s.CreatedAt); err != nil {
				return err
			}
		}
		set.all = append(set.all, k)
		set.byID[k.ID] = k
		if _, seen := set.active[k.Alg]; k.Active && !seen {
			set.active[k.Alg] = k
		}
		jwks = append(jwks, publicJWK(k))
	}
	if jwks == nil {
		jwks = []jwk{}
	}
	set.jwks, err = json.Marshal(map[string][]jwk{"keys": jwks})
	if err != nil {
		return err
	}
	m.state.Store(set)
	return nil
}

// jwk is the public part of a key in RFC 7517 form.
type jwk struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Alg string   `json:"alg"`
	Kid string   `json:"kid"`
	N   string   `json:"n,omitempty"`
	E   string   `json:"e,omitempty"`
	Crv string   `json:"crv,omitempty"`
	X   string   `json:"x,omitempty"`
	Y   string   `json:"y,omitempty"`
	X5c []string `json:"x5c,omitempty"`
}

func publicJWK(k Key) jwk {
	b64 := base64.RawURLEncoding.EncodeToString
	out := jwk{Use: "sig", Alg: k.Alg, Kid: k.ID}
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		out.Kty = "RSA"
		out.N = b64(pub.N.Bytes())
		out.E = b64(big.NewInt(int64(pub.E)).Bytes())
		if k.Certificate != nil {
			out.X5c = []string{base64.StdEncoding.EncodeToString(k.Certificate.Raw)}
		}
	case *ecdsa.PublicKey:
		out.Kty = "EC"
		out.Crv = "P-256"
		pt, _ := pub.Bytes() // uncompressed: 0x04 || X || Y
		out.X = b64(pt[1:33])
		out.Y = b64(pt[33:65])
	}
	return out
}

// thumbprint names a key by the SHA-256 of its public key, so a kid never
// collides and is the same wherever the key is loaded.
func thumbprint(pub crypto.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// certificate self-signs k with fields fixed by the key itself; RSA
// PKCS#1 v1.5 signatures are deterministic, so every node derives the same
// certificate bytes, which SAML service providers compare.
func certificate(k *rsa.PrivateKey, kid string, created time.Time) (*x509.Certificate, error) {
	sum := sha256.Sum256([]byte(kid))
	serial := new(big.Int).SetBytes(sum[:16])
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Gatehouse signing key " + kid},
		NotBefore:             created.UTC().Truncate(time.Second),
		NotAfter:              created.UTC().Truncate(time.Second).AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(zeroReader{}, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, fmt.Errorf("keys: certificate for %s: %w", kid, err)
	}
	return x509.ParseCertificate(der)
}

// zeroReader feeds x509.CreateCertificate where it asks for randomness;
// nothing secret depends on it for an RSA PKCS#1 v1.5 signature.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
