// Package sqltest gives tests a fresh, migrated Gatehouse store of their
// own: a SQLite file in the test's temporary directory, or a PostgreSQL
// schema of its own on the server named by GATEHOUSE_TEST_POSTGRES. Each
// call makes a new one, so tests and test packages running at once never
// see each other's rows.
//
// PostgreSQL stores are schemas (gh_<time>_<random>) in one shared
// database, gatehouse_test, rather than databases: creating a database
// costs PostgreSQL about half a second, a schema a few milliseconds. A
// schema holds every table, index and the migration record, and the
// store's connections see nothing else, so the isolation is the same.
package sqltest

import (
	"context"
	"crypto/rand"
	stdsql "database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connections

	"gatehouse/storage/sql"
)

// DefaultPostgres is the server used when GATEHOUSE_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// TestDatabase is the database on the test server that holds every
// test's schema. It is created when missing and never dropped.
const TestDatabase = "gatehouse_test"

// maxConns caps each test store's pool, so many stores open at once in
// parallel test packages stay within the server's connection limit.
const maxConns = 4

// SQLite returns a migrated store in a new file under t.TempDir(), closed
// when the test ends.
func SQLite(t testing.TB) *sql.DB {
	t.Helper()
	return open(t, SQLiteDSN(t))
}

// SQLiteDSN returns the address of a new, empty SQLite database under
// t.TempDir(), for tests that open (and migrate) it themselves, such as a
// test of the gatehouse command.
func SQLiteDSN(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "gatehouse.db")
}

// Postgres returns a migrated store in a new schema on the test server,
// closed and dropped when the test ends. When the server cannot be reached
// the test is skipped, or fails when CI=true.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	db := open(t, PostgresDSN(t))
	db.SetMaxOpenConns(maxConns)
	return db
}

// PostgresDSN returns the address of a new, empty schema on the test
// server, dropped when the test ends, for tests that open (and migrate) it
// themselves. Unreachable server: as Postgres.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	srv, err := server()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sqltest: PostgreSQL unreachable (CI=true): %v", err)
		}
		t.Skipf("sqltest: PostgreSQL unreachable, skipping: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("gh_%d_%s", time.Now().Unix(), randomHex(6))
	if _, err := srv.db.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("sqltest: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := srv.dropSchema(name); err != nil {
			t.Logf("sqltest: drop schema %s: %v", name, err)
		}
	})
	u := *srv.url
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// PostgresURL is the test server's address: GATEHOUSE_TEST_POSTGRES or
// DefaultPostgres.
func PostgresURL() string {
	if v := os.Getenv("GATEHOUSE_TEST_POSTGRES"); v != "" {
		return v
	}
	return DefaultPostgres
}

func open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("sqltest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("sqltest: migrate: %v", err)
	}
	return db
}

// testServer is the connection to TestDatabase that creates and drops
// the schemas, and the address the stores connect to.
type testServer struct {
	db  *stdsql.DB
	url *url.URL
}

var (
	serverOnce sync.Once
	serverVal  *testServer
	serverErr  error
)

// server connects once per test binary; an unreachable server is
// remembered, so later tests skip at once instead of waiting again.
func server() (*testServer, error) {
	serverOnce.Do(func() { serverVal, serverErr = connect() })
	return serverVal, serverErr
}

func connect() (*testServer, error) {
	u, err := url.Parse(PostgresURL())
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_TEST_POSTGRES: %w", err)
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "3")
		u.RawQuery = q.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := stdsql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	_, err = admin.ExecContext(ctx, `CREATE DATABASE `+TestDatabase)
	var pe *pgconn.PgError
	// 42P04: another test binary created it first. 23505: both tried at
	// once and the catalog's unique index refused the second.
	if err != nil && !(errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505")) {
		return nil, fmt.Errorf("create database %s: %w", TestDatabase, err)
	}

	u.Path = "/" + TestDatabase
	db, err := stdsql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	srv := &testServer{db: db, url: u}
	srv.sweep(ctx)
	return srv, nil
}

// sweep drops schemas that test binaries killed before their cleanup left
// behind; a day is far longer than any test runs.
func (s *testServer) sweep(ctx context.Context) {
	rows, err := s.db.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'gh\_%'`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		parts := strings.Split(name, "_")
		if len(parts) != 3 {
			continue
		}
		if sec, err := strconv.ParseInt(parts[1], 10, 64); err == nil && time.Since(time.Unix(sec, 0)) > 24*time.Hour {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		_ = s.dropSchema(name)
	}
}

func (s *testServer) dropSchema(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
