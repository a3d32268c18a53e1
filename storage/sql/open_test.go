package sql_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/storage"
	"gatehouse/storage/sql"
	"gatehouse/storage/sql/sqltest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenRefusesUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://root@localhost/gh", "gatehouse.db", "", "sqlite://", "sqlite://a.db?mode=ro"} {
		_, err := sql.Open(ctxT(t), dsn)
		if err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.HasPrefix(dsn, "mysql") && !strings.Contains(err.Error(), `"mysql"`) {
			t.Errorf("Open(%q): %v; want the error to name the scheme", dsn, err)
		}
	}
}

func TestOpenSQLiteRelativePathAndMigrateTwice(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := ctxT(t)
	db, err := sql.Open(ctx, "sqlite://gatehouse-data/nested/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data", "nested", "gatehouse.db")); err != nil {
		t.Fatalf("database file not where the relative path points: %v", err)
	}
	if db.Flavor() != "sqlite" {
		t.Fatalf("Flavor() = %q", db.Flavor())
	}
	if _, err := db.SchemaVersion(ctx); err == nil {
		t.Fatal("SchemaVersion before Migrate: want an error, Open must not migrate")
	}
	for i := range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	// The data outlives the handle.
	if err := db.CreatePartner(ctx, storage.Partner{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sql.Open(ctx, "sqlite://"+filepath.Join(dir, "gatehouse-data/nested/gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.GetPartner(ctx, "acme"); err != nil {
		t.Fatalf("after reopening by absolute path: %v", err)
	}
}

// Several nodes starting at once all migrate the same database.
func TestMigrateConcurrently(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{
		"sqlite":   sqltest.SQLiteDSN,
		"postgres": sqltest.PostgresDSN,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			addr := dsn(t)
			var dbs []*sql.DB
			for range 4 {
				db, err := sql.Open(ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				dbs = append(dbs, db)
			}
			var wg sync.WaitGroup
			errs := make([]error, len(dbs))
			for i, db := range dbs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = db.Migrate(ctx)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Migrate on node %d: %v", i, err)
				}
			}
			if err := dbs[0].CreatePartner(ctx, storage.Partner{ID: "acme"}); err != nil {
				t.Fatalf("schema unusable after concurrent migrations: %v", err)
			}
		})
	}
}

// Backend-specific promises beyond the conformance suite.
func TestStoreDetails(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *sql.DB{"sqlite": sqltest.SQLite, "postgres": sqltest.Postgres} {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			db := open(t)
			// A record naming a missing partner or user is ErrNotFound.
			err := db.CreateUser(ctx, storage.User{ID: "u1", PartnerID: "nobody", Email: "a@b.example"})
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("CreateUser(unknown partner) = %v, want ErrNotFound", err)
			}
			err = db.CreateFactor(ctx, storage.Factor{ID: "f1", UserID: "nobody", Kind: storage.FactorTOTP})
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("CreateFactor(unknown user) = %v, want ErrNotFound", err)
			}
			// A page token we never issued is refused, not read as page one.
			_, _, err = db.ListUsers(ctx, storage.UserFilter{}, storage.Page{Token: "!!not-a-token"})
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("ListUsers(bad token) = %v, want ErrNotFound", err)
			}
			_, _, err = db.ListAudit(ctx, "acme", storage.Page{Token: "bm90LWEtdG9rZW4"})
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("ListAudit(bad token) = %v, want ErrNotFound", err)
			}
			// The Store InTx hands out cannot close the pool under it.
			err = db.InTx(ctx, func(tx storage.Store) error { return tx.Ping(ctx) })
			if err != nil {
				t.Errorf("Ping inside InTx: %v", err)
			}
			err = db.InTx(ctx, func(tx storage.Store) error { return tx.Close() })
			if err == nil {
				t.Error("Close inside InTx succeeded")
			}
			if err := db.Ping(ctx); err != nil {
				t.Errorf("Ping after refused Close: %v", err)
			}
			// The store's clock stamps records that come without times.
			at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
			db.Now = func() time.Time { return at }
			if err := db.CreatePartner(ctx, storage.Partner{ID: "acme"}); err != nil {
				t.Fatal(err)
			}
			p, err := db.GetPartner(ctx, "acme")
			if err != nil || !p.CreatedAt.Equal(at) || !p.UpdatedAt.Equal(at) {
				t.Errorf("partner stamped %v / %v (%v), want %v", p.CreatedAt, p.UpdatedAt, err, at)
			}
			// A lockout until an admin unlocks uses a far-future time.
			forever := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
			u := storage.User{ID: "u1", PartnerID: "acme", Email: "a@acme.example", LockedUntil: forever}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetUser(ctx, "u1")
			if err != nil || !got.LockedUntil.Equal(forever) {
				t.Errorf("LockedUntil = %v (%v), want %v", got.LockedUntil, err, forever)
			}
		})
	}
}

// SQLite takes concurrent writes from one process, and from two handles
// on the same file (two processes), without SQLITE_BUSY reaching callers.
func TestSQLiteConcurrentWriters(t *testing.T) {
	ctx := ctxT(t)
	dsn := sqltest.SQLiteDSN(t)
	var dbs []*sql.DB
	for range 2 {
		db, err := sql.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	if err := dbs[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dbs[0].CreatePartner(ctx, storage.Partner{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	const writers = 32
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[i%2]
			id := string(rune('a'+i%26)) + string(rune('a'+i/26))
			err := db.InTx(ctx, func(tx storage.Store) error {
				if err := tx.CreateUser(ctx, storage.User{ID: id, PartnerID: "acme", Email: id + "@acme.example"}); err != nil {
					return err
				}
				_, err := tx.UpdatePartner(ctx, "acme", func(p storage.Partner) (storage.Partner, error) {
					p.Name += "x"
					return p, nil
				})
				return err
			})
			if err == nil {
				_, err = db.GetUser(ctx, id)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write: %v", err)
		}
	}
	p, err := dbs[1].GetPartner(ctx, "acme")
	if err != nil || len(p.Name) != writers {
		t.Fatalf("partner name has %d marks (%v), want %d", len(p.Name), err, writers)
	}
}
