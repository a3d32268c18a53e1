// Package sqltest gives tests a fresh, migrated Gatehouse database: a
// SQLite file in the test's temporary directory, or a PostgreSQL database
// of its own on the server named by GATEHOUSE_TEST_POSTGRES. Each call
// makes a new one, so tests and test packages running at once never see
// each other's rows.
package sqltest

import (
	"context"
	"crypto/rand"
	stdsql "database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection

	"gatehouse/storage/sql"
)

// DefaultPostgres is the server used when GATEHOUSE_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// SQLite returns a migrated store in a new file under t.TempDir(), closed
// when the test ends.
func SQLite(t testing.TB) *sql.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := sql.Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatalf("sqltest: open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("sqltest: migrate sqlite: %v", err)
	}
	return db
}

// Postgres returns a migrated store in a new database gh_<random> on the
// test server, dropped when the test ends. When the server cannot be
// reached the test is skipped, or fails when CI=true.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	admin, base, err := server()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sqltest: PostgreSQL unreachable (CI=true): %v", err)
		}
		t.Skipf("sqltest: PostgreSQL unreachable, skipping: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := "gh_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("sqltest: create database %s: %v", name, err)
	}
	u := *base
	u.Path = "/" + name
	db, err := sql.Open(ctx, u.String())
	if err != nil {
		dropDatabase(admin, name)
		t.Fatalf("sqltest: open %s: %v", name, err)
	}
	t.Cleanup(func() {
		db.Close()
		if err := dropDatabase(admin, name); err != nil {
			t.Logf("sqltest: drop database %s: %v", name, err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("sqltest: migrate %s: %v", name, err)
	}
	return db
}

// PostgresURL is the test server's address: GATEHOUSE_TEST_POSTGRES or
// DefaultPostgres.
func PostgresURL() string {
	if v := os.Getenv("GATEHOUSE_TEST_POSTGRES"); v != "" {
		return v
	}
	return DefaultPostgres
}

var (
	serverOnce sync.Once
	serverDB   *stdsql.DB
	serverURL  *url.URL
	serverErr  error
)

// server connects once per test binary to the maintenance database that
// creates and drops the per-test databases; an unreachable server is
// remembered so later tests skip at once.
func server() (*stdsql.DB, *url.URL, error) {
	serverOnce.Do(func() {
		u, err := url.Parse(PostgresURL())
		if err != nil {
			serverErr = fmt.Errorf("GATEHOUSE_TEST_POSTGRES: %w", err)
			return
		}
		q := u.Query()
		if q.Get("connect_timeout") == "" {
			q.Set("connect_timeout", "3")
			u.RawQuery = q.Encode()
		}
		db, err := stdsql.Open("pgx", u.String())
		if err != nil {
			serverErr = err
			return
		}
		db.SetMaxOpenConns(4)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			serverErr = fmt.Errorf("%s: %w", u.Redacted(), err)
			return
		}
		serverDB, serverURL = db, u
	})
	return serverDB, serverURL, serverErr
}

func dropDatabase(admin *stdsql.DB, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// FORCE ends sessions a test left open (PostgreSQL 13 and later).
	_, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
