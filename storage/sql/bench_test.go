package sql_test

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/storage"
	"gatehouse/storage/sql"
	"gatehouse/storage/sql/sqltest"
)

// The hot reads of sign-in and the token endpoint, on both backends. Each
// reports x_select1: its time over a bare "SELECT 1" on the same database
// in the same run, the round trip no store can avoid.

func BenchmarkGetUserByEmail(b *testing.B) {
	benchBackends(b, func(b *testing.B, db *sql.DB) func(context.Context) error {
		ctx := context.Background()
		if err := db.CreatePartner(ctx, storage.Partner{ID: "acme"}); err != nil {
			b.Fatal(err)
		}
		err := db.InTx(ctx, func(tx storage.Store) error {
			for i := range 1000 {
				u := storage.User{ID: fmt.Sprintf("u%04d", i), PartnerID: "acme", Email: fmt.Sprintf("user-%04d@acme.example", i),
					Name: "User", Kind: storage.KindEmployee, Role: "admin", Active: true,
					PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
					Notifications: storage.Notifications{Error: true, Frequency: "daily"}}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return func(ctx context.Context) error {
			_, err := db.GetUserByEmail(ctx, "User-0500@ACME.example")
			return err
		}
	})
}

func BenchmarkGetClient(b *testing.B) {
	benchBackends(b, func(b *testing.B, db *sql.DB) func(context.Context) error {
		ctx := context.Background()
		for i := range 20 {
			c := storage.Client{ID: fmt.Sprintf("client-%02d", i), Name: "Client",
				RedirectURIs: []string{"https://app.example/callback", "https://app.example/cb2"},
				GrantTypes:   []string{"authorization_code", "refresh_token"},
				Scopes:       []string{"openid", "profile", "email", "roles", "offline_access"},
				SecretHash:   "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
				AllowedRoles: []string{"owner", "admin"}, TokenEndpointAuthMethod: "client_secret_basic"}
			if err := db.CreateClient(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		return func(ctx context.Context) error {
			_, err := db.GetClient(ctx, "client-10")
			return err
		}
	})
}

func benchBackends(b *testing.B, setup func(b *testing.B, db *sql.DB) func(context.Context) error) {
	for _, backend := range []struct {
		name   string
		dsn    func(testing.TB) string
		driver string
		raw    func(dsn string) string
	}{
		{"sqlite", sqltest.SQLiteDSN, "sqlite", func(dsn string) string { return strings.TrimPrefix(dsn, "sqlite://") }},
		{"postgres", sqltest.PostgresDSN, "pgx", func(dsn string) string { return dsn }},
	} {
		b.Run(backend.name, func(b *testing.B) {
			ctx := context.Background()
			dsn := backend.dsn(b)
			db, err := sql.Open(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			op := setup(b, db)

			raw, err := stdsql.Open(backend.driver, backend.raw(dsn))
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			selectOne := func() error {
				var one int
				return raw.QueryRowContext(ctx, "SELECT 1").Scan(&one)
			}
			baseline(b, selectOne, 50) // warm the raw pool

			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := op(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			// The baseline runs as many times, straight after, so both
			// see the same machine.
			b.ReportMetric(per/baseline(b, selectOne, max(b.N, 200)), "x_select1")
		})
	}
}

// baseline times runs calls of f and returns nanoseconds per call.
func baseline(b *testing.B, f func() error, runs int) float64 {
	start := time.Now()
	for range runs {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(runs)
}
