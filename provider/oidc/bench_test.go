package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/storage"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

// BenchmarkClientCredentials measures the token endpoint's
// client_credentials rate over HTTP with parallel clients, and reports it
// as ratios to two ceilings measured in the same run with the same key:
// bare ES256 signing of an equivalent token (JSON and one signature, no
// HTTP), and a bare HTTP server that only checks the client's secret and
// signs that token, driven by the same client (DESIGN.md, hot paths).
func BenchmarkClientCredentials(b *testing.B) {
	e := newEnv(b)
	key, err := e.keys.Active("ES256")
	must(b, err)
	priv := key.Signer.(*ecdsa.PrivateKey)
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"` + key.ID + `","typ":"at+jwt"}`))
	sign := func() string {
		now := time.Now().Unix()
		payload, _ := json.Marshal(map[string]any{
			"iss": e.issuer, "sub": "svc", "aud": []string{"svc"}, "exp": now + 3600, "iat": now,
			"jti": "0f8fad5b-d9cb-469f-a165-70867728950e.q1w2e3r4t5y6u7i8", "client_id": "svc", "scope": "admin",
		})
		in := head + "." + base64.RawURLEncoding.EncodeToString(payload)
		sum := sha256.Sum256([]byte(in))
		sig, err := priv.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.ParseForm() != nil || !ok || id != "svc" || subtle.ConstantTimeCompare([]byte(secret), []byte("svc-secret")) != 1 {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": sign(), "token_type": "bearer", "expires_in": 3600, "scope": "admin"})
	}))
	defer bare.Close()

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:svc-secret"))
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(base string) error {
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader("grant_type=client_credentials&scope=admin"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return &statusError{resp.StatusCode}
		}
		return nil
	}
	must(b, post(e.issuer)) // the secret is verified with argon2 once, here

	const n = 1500
	signRate := parallelRate(n, func() error { sign(); return nil })
	httpRate := parallelRate(n, func() error { return post(bare.URL) })

	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := post(e.issuer); err != nil {
				b.Error(err)
				return
			}
		}
	})
	rate := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(rate, "tokens/s")
	b.ReportMetric(signRate, "es256_signs/s")
	b.ReportMetric(rate/signRate, "ratio_to_es256_sign")
	b.ReportMetric(rate/httpRate, "ratio_to_bare_http_sign")
}

type statusError struct{ code int }

func (s *statusError) Error() string { return "status " + http.StatusText(s.code) }

// parallelRate runs op n times per core, on every core, and returns how
// many ran per second.
func parallelRate(n int, op func() error) float64 {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if op() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n*workers) / time.Since(start).Seconds()
}

// BenchmarkAuthorizeWithSessionAndExchange measures the rate of a whole
// authorization for a browser that already has a sign-in session (authorize,
// the sign-in flow passing through without a page, resume, the code) plus
// the code exchange, with parallel browsers. It reports the ephemeral-store
// operations and SQL reads each one costs.
func BenchmarkAuthorizeWithSessionAndExchange(b *testing.B) {
	for _, bk := range []struct {
		name string
		make func(testing.TB) backends
	}{
		{"sqlite+memory", sqliteMemory},
		{"postgres+redis", func(t testing.TB) backends {
			return backends{store: sqltest.Postgres(t), eph: ephemeraltest.Redis(t)}
		}},
	} {
		b.Run(bk.name, func(b *testing.B) {
			inner := bk.make(b)
			counted := &countingEphemeral{Ephemeral: inner.eph}
			store := &countingStore{Store: inner.store}
			e := newEnvOn(b, backends{store: store, eph: counted}, 1)
			r := e.rp("academy", "academy-secret", "openid", "profile", "roles")

			workers := runtime.GOMAXPROCS(0) * 2
			browsers := make(chan *browser, workers)
			for i := 0; i < workers; i++ {
				br := e.browser()
				r.signIn(br, "olivia@acme.example")
				browsers <- br
			}
			one := func(br *browser) error {
				a := r.authorize()
				pg := br.get(a.URL)
				if pg.Location == nil || pg.Location.Query().Get("code") == "" {
					return &statusError{pg.Status}
				}
				_, err := r.cfg.Exchange(context.Background(), pg.Location.Query().Get("code"), oauth2.VerifierOption(a.Verifier))
				return err
			}
			counted.n.Store(0)
			store.reads.Store(0)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				br := <-browsers
				defer func() { browsers <- br }()
				for pb.Next() {
					if err := one(br); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "flows/s")
			b.ReportMetric(float64(counted.n.Load())/float64(b.N), "ephemeral_ops/flow")
			b.ReportMetric(float64(store.reads.Load())/float64(b.N), "sql_calls/flow")
		})
	}
}

// countingEphemeral counts round trips to the ephemeral store.
type countingEphemeral struct {
	storage.Ephemeral
	n atomic.Int64
}

func (c *countingEphemeral) Get(ctx context.Context, k string) ([]byte, error) {
	c.n.Add(1)
	return c.Ephemeral.Get(ctx, k)
}
func (c *countingEphemeral) MGet(ctx context.Context, k ...string) ([][]byte, error) {
	c.n.Add(1)
	return c.Ephemeral.MGet(ctx, k...)
}
func (c *countingEphemeral) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	c.n.Add(1)
	return c.Ephemeral.Set(ctx, k, v, ttl)
}
func (c *countingEphemeral) SetNX(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	c.n.Add(1)
	return c.Ephemeral.SetNX(ctx, k, v, ttl)
}
func (c *countingEphemeral) Take(ctx context.Context, k string) ([]byte, error) {
	c.n.Add(1)
	return c.Ephemeral.Take(ctx, k)
}
func (c *countingEphemeral) Delete(ctx context.Context, k ...string) error {
	c.n.Add(1)
	return c.Ephemeral.Delete(ctx, k...)
}
func (c *countingEphemeral) Incr(ctx context.Context, k string, ttl time.Duration) (int64, error) {
	c.n.Add(1)
	return c.Ephemeral.Incr(ctx, k, ttl)
}
func (c *countingEphemeral) SAdd(ctx context.Context, k string, ttl time.Duration, m ...string) error {
	c.n.Add(1)
	return c.Ephemeral.SAdd(ctx, k, ttl, m...)
}
func (c *countingEphemeral) SMembers(ctx context.Context, k string) ([]string, error) {
	c.n.Add(1)
	return c.Ephemeral.SMembers(ctx, k)
}

// countingStore counts the SQL calls the flow makes (the ones it can make).
type countingStore struct {
	storage.Store
	reads atomic.Int64
}

func (c *countingStore) GetUser(ctx context.Context, id string) (storage.User, error) {
	c.reads.Add(1)
	return c.Store.GetUser(ctx, id)
}
func (c *countingStore) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c.reads.Add(1)
	return c.Store.GetClient(ctx, id)
}
func (c *countingStore) GetConsent(ctx context.Context, u, cl string) (storage.Consent, error) {
	c.reads.Add(1)
	return c.Store.GetConsent(ctx, u, cl)
}
func (c *countingStore) CreateRefreshToken(ctx context.Context, t storage.RefreshToken) error {
	c.reads.Add(1)
	return c.Store.CreateRefreshToken(ctx, t)
}

// BenchmarkUserInfo measures /userinfo over HTTP with parallel callers,
// as a ratio to a bare HTTP server that only verifies the same token's
// ES256 signature and answers JSON (DESIGN.md, hot paths: at least 0.5).
func BenchmarkUserInfo(b *testing.B) {
	e := newEnv(b)
	r := e.rp("academy", "academy-secret", "openid", "profile", "email", "roles")
	tok, _ := r.signIn(e.browser(), "olivia@acme.example")
	key, err := e.keys.Active("ES256")
	must(b, err)
	pub := key.Signer.Public().(*ecdsa.PublicKey)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		i := strings.LastIndexByte(raw, '.')
		sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
		sum := sha256.Sum256([]byte(raw[:i]))
		if err != nil || len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		payload, _ := base64.RawURLEncoding.DecodeString(raw[strings.IndexByte(raw, '.')+1 : i])
		var c map[string]any
		_ = json.Unmarshal(payload, &c)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": c["sub"], "name": "Olivia Mae Owner", "email": "olivia@acme.example"})
	}))
	defer bare.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(base string) error {
		req, _ := http.NewRequest(http.MethodGet, base+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return &statusError{resp.StatusCode}
		}
		return nil
	}
	must(b, get(e.issuer))
	bareRate := parallelRate(1500, func() error { return get(bare.URL) })

	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := get(e.issuer); err != nil {
				b.Error(err)
				return
			}
		}
	})
	rate := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(rate, "requests/s")
	b.ReportMetric(rate/bareRate, "ratio_to_bare_http_verify")
}
