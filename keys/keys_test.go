package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"gatehouse/keys"
	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newBox(t *testing.T) *keys.Box {
	t.Helper()
	b, err := keys.NewBox(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBoxRoundTrip(t *testing.T) {
	b := newBox(t)
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) > 0 && bytes.Contains(sealed, plain) {
			t.Fatal("sealed value contains the plaintext")
		}
		got, err := b.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open(Seal(%d bytes)) = %d bytes, %v", len(plain), len(got), err)
		}
	}
	// A fresh nonce every time: equal plaintexts never give equal bytes.
	a1, _ := b.Seal([]byte("same"))
	a2, _ := b.Seal([]byte("same"))
	if bytes.Equal(a1, a2) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestBoxRefusesTampering(t *testing.T) {
	b := newBox(t)
	sealed, err := b.Seal([]byte("totp secret"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := b.Open(bad); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	if _, err := b.Open(sealed[:len(sealed)-1]); err == nil {
		t.Fatal("a truncated value opened")
	}
	if _, err := b.Open([]byte("short")); err == nil {
		t.Fatal("a too-short value opened")
	}
	if _, err := newBox(t).Open(sealed); err == nil {
		t.Fatal("another key opened the value")
	}
}

func TestNewBoxWantsThirtyTwoBytes(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := keys.NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox(%d bytes) succeeded", n)
		}
	}
}

func TestParseKey(t *testing.T) {
	k := newKey(t)
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(k),
		base64.RawURLEncoding.EncodeToString(k),
		hex.EncodeToString(k),
		"  " + base64.StdEncoding.EncodeToString(k) + "\n",
	} {
		got, err := keys.ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(k[:16]), strings.Repeat("z", 64)} {
		if _, err := keys.ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) succeeded", s)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	k1, err := keys.LoadOrCreateKeyFile(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %d bytes, %v", len(k1), err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", st.Mode(), err)
	}
	k2, err := keys.LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("the second load did not return the same key")
	}

	// Several processes starting at once end up with one key.
	path = filepath.Join(t.TempDir(), "race.key")
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = keys.LoadOrCreateKeyFile(path)
		}()
	}
	wg.Wait()
	for i := range got {
		if !bytes.Equal(got[i], got[0]) || len(got[i]) != 32 {
			t.Fatalf("concurrent creators disagree: %x vs %x", got[i], got[0])
		}
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newManager(store storage.Keys, box *keys.Box, c *clock) *keys.Manager {
	// 1024-bit RSA keeps the test fast; the size is not what is tested.
	return keys.NewManager(store, box, keys.Options{Now: c.Now, RetireAfter: 24 * time.Hour, RSABits: 1024})
}

func parseJWKS(t *testing.T, m *keys.Manager) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatalf("JWKS does not parse: %v\n%s", err, m.JWKS())
	}
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() || k.Use != "sig" || k.KeyID == "" {
			t.Fatalf("JWKS key %+v is not a valid public signing key", k)
		}
	}
	return set
}

func TestManagerEnsureCreatesOneKeyPerAlgorithm(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	box := newBox(t)
	m := newManager(db, box, c)
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	set := parseJWKS(t, m)
	if len(set.Keys) != len(keys.Algorithms) {
		t.Fatalf("JWKS has %d keys, want %d", len(set.Keys), len(keys.Algorithms))
	}
	for _, alg := range keys.Algorithms {
		k, err := m.Active(alg)
		if err != nil || k.Alg != alg {
			t.Fatalf("Active(%s) = %+v, %v", alg, k, err)
		}
	}
	// Private keys are sealed at rest.
	stored, err := db.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stored {
		if _, err := box.Open(s.PrivateKey); err != nil {
			t.Fatalf("stored key %s is not sealed with the box: %v", s.ID, err)
		}
	}

	// A second node, or a restart, finds the keys and makes none.
	again := newManager(db, box, c)
	if err := again.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.JWKS(), m.JWKS()) {
		t.Fatal("a second Ensure changed the JWKS")
	}
	// Another encryption key cannot load them, and says why.
	if err := newManager(db, newBox(t), c).Load(ctx); err == nil || !strings.Contains(err.Error(), "encryption key") {
		t.Fatalf("Load with the wrong key = %v", err)
	}
}

func TestCertificateIsTheSameOnEveryLoad(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	box := newBox(t)
	a, b := newManager(db, box, c), newManager(db, box, c)
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ka, _ := a.Active("RS256")
	kb, _ := b.Active("RS256")
	if ka.Certificate == nil || !bytes.Equal(ka.Certificate.Raw, kb.Certificate.Raw) {
		t.Fatal("two loads of one RSA key give different certificates")
	}
	cert := ka.Certificate
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("certificate is not self-signed by its key: %v", err)
	}
	if !bytes.Equal(a.JWKS(), b.JWKS()) {
		t.Fatal("two loads give different JWKS bytes")
	}
}

func TestRotateKeepsOldKeysVerifying(t *testing.T) {
	ctx := context.Background()
	for _, backend := range []struct {
		name string
		open func(testing.TB) storage.Store
	}{
		{"sqlite", func(t testing.TB) storage.Store { return sqltest.SQLite(t) }},
		{"postgres", func(t testing.TB) storage.Store { return sqltest.Postgres(t) }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			db := backend.open(t)
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			m := newManager(db, newBox(t), c)
			if err := m.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			old, _ := m.Active("ES256")
			token := sign(t, old)

			c.Add(time.Hour)
			if err := m.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			cur, _ := m.Active("ES256")
			if cur.ID == old.ID {
				t.Fatal("Rotate did not change the active key")
			}
			set := parseJWKS(t, m)
			if len(set.Keys) != 2*len(keys.Algorithms) {
				t.Fatalf("JWKS has %d keys after one rotation, want %d", len(set.Keys), 2*len(keys.Algorithms))
			}
			if len(set.Key(old.ID)) != 1 {
				t.Fatal("the old key left the JWKS")
			}
			verify(t, set, token) // a token signed before the rotation still verifies

			// Past RetireAfter the retired keys go at the next rotation.
			c.Add(25 * time.Hour)
			if err := m.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			set = parseJWKS(t, m)
			if len(set.Key(old.ID)) != 0 {
				t.Fatal("a key retired longer than RetireAfter is still published")
			}
			if len(set.Keys) != 2*len(keys.Algorithms) {
				t.Fatalf("JWKS has %d keys, want the current and the previous generation", len(set.Keys))
			}
		})
	}
}

// TestWatchPicksUpRotation runs two nodes: one rotates and announces it on
// the ephemeral store, the other reloads on the notice.
func TestWatchPicksUpRotation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := sqltest.SQLite(t)
	eph := ephemeraltest.Memory(t)
	c := &clock{t: time.Now()}
	box := newBox(t)
	a, b := newManager(db, box, c), newManager(db, box, c)
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); b.Watch(ctx, eph, time.Hour) }()

	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := a.Active("RS256")
	// The subscription may not be in place yet when the first notice goes
	// out; announce until b has the new key.
	for i := 0; ; i++ {
		if k, _ := b.Active("RS256"); k.ID == want.ID {
			break
		}
		if i == 500 {
			t.Fatal("the watching node never loaded the rotated key")
		}
		if err := eph.Publish(ctx, keys.Channel, "rotated"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func sign(t *testing.T, k keys.Key) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg),
		Key: jose.JSONWebKey{Key: k.Signer, KeyID: k.ID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(`{"sub":"someone"}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func verify(t *testing.T, set jose.JSONWebKeySet, token string) {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	kid := jws.Signatures[0].Header.KeyID
	found := set.Key(kid)
	if len(found) != 1 {
		t.Fatalf("kid %s not in the JWKS", kid)
	}
	if _, err := jws.Verify(found[0]); err != nil {
		t.Fatalf("token does not verify with the published key: %v", err)
	}
}
