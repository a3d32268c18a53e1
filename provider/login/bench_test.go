package login_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"gatehouse/passwords"
	"gatehouse/provider/login"
	"gatehouse/storage"
)

// BenchmarkPasswordSignIn measures whole password sign-ins through the
// pages (begin, the sign-in page, the form post, the return to the adapter)
// with the production argon2id parameters, and compares their rate with
// argon2id's own rate at the same parameters on every core, measured in
// the same run. The password hash is the one cost a sign-in cannot avoid,
// so the ratio shows how much everything else costs.
func BenchmarkPasswordSignIn(b *testing.B) {
	params := passwords.DefaultParams
	workers := runtime.GOMAXPROCS(0)
	c := newClock()
	e := newEnvOn(b, c, sqliteMemory(b, c), func(cfg *login.Config) {
		cfg.PasswordParams = params
		cfg.LoginRateLimit = -1
		cfg.MaxConcurrentHashes = workers
	})
	hash, err := passwords.Hash(params, goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.dir.UpdateUser(context.Background(), "u-alice", func(u storage.User) (storage.User, error) {
		u.PasswordHash = hash
		return u, nil
	}); err != nil {
		b.Fatal(err)
	}

	signIn := func() {
		// A fresh browser each time, so no SSO session skips the password.
		r := e.browser().signIn("", "alice@acme.example", goodPassword).result(b)
		if r.UserID != "u-alice" {
			b.Fatalf("result = %+v", r)
		}
	}
	signIn() // warm up: templates, connections, the partner cache

	// Alternate short batches of each, so that load from elsewhere on a
	// shared machine falls on both alike.
	salt := []byte("0123456789abcdef")
	hashOnce := func() {
		argon2.IDKey([]byte(goodPassword), salt, params.Iterations, params.Memory, params.Parallelism, params.KeyLen)
	}
	batch := 2 * workers
	var tSign, tHash time.Duration
	done := 0
	b.ResetTimer()
	for done < b.N {
		k := min(batch, b.N-done)
		tHash += timed(k, workers, hashOnce)
		// More browsers than hash slots, as under real load: while one
		// waits on HTTP round trips another's hash runs.
		tSign += timed(k, 2*workers, signIn)
		done += k
	}
	b.StopTimer()
	signIns := float64(b.N) / tSign.Seconds()
	hashes := float64(b.N) / tHash.Seconds()

	b.ReportMetric(signIns, "signins/s")
	b.ReportMetric(hashes, "argon2id/s")
	b.ReportMetric(signIns/hashes, "ratio_to_argon2")
}

// timed runs fn n times on workers goroutines and says how long it took.
func timed(n, workers int, fn func()) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				fn()
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}
