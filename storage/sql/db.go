package sql

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"gatehouse/storage"
)

// DefaultTimeout bounds an operation whose context has no deadline, so that
// a database that stops answering fails requests instead of hanging them.
const DefaultTimeout = 10 * time.Second

// DB is the SQL implementation of storage.Store, on SQLite or PostgreSQL.
type DB struct {
	// Now stamps CreatedAt and UpdatedAt; time.Now unless a test sets it.
	Now func() time.Time
	// Timeout applies to operations whose context has no deadline; zero
	// means no limit.
	Timeout time.Duration

	f *flavor
	// write takes every write and every transaction; read serves single
	// reads. They are the same pool on PostgreSQL. SQLite allows one writer
	// at a time, so its write pool has one connection and writers queue in
	// Go instead of failing with SQLITE_BUSY, while readers run beside it.
	write *stdsql.DB
	read  *stdsql.DB
	// tx is set on the Store that InTx hands to its function.
	tx *stdsql.Tx
	// Prepared statements of each SQLite pool. SQLite compiles every
	// statement it runs, which costs more than the lookup it serves;
	// pgx keeps its own per-connection cache, so PostgreSQL has none.
	writeStmts, readStmts *stmtCache
}

var _ storage.Store = (*DB)(nil)

// Open connects to the database that dsn names: sqlite://PATH (relative to
// the working directory, or absolute as sqlite:///abs/path.db) or
// postgres://... (postgresql:// too). It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil, fmt.Errorf("sql: storage dsn %q: want sqlite://PATH or postgres://...", redact(dsn))
	}
	var (
		db  *DB
		err error
	)
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		db, err = openSQLite(rest)
	case "postgres", "postgresql":
		db, err = openPostgres(dsn)
	default:
		return nil, fmt.Errorf("sql: storage dsn: unknown scheme %q (want sqlite or postgres)", scheme)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func newDB(f *flavor, write, read *stdsql.DB) *DB {
	return &DB{Now: time.Now, Timeout: DefaultTimeout, f: f, write: write, read: read}
}

func openSQLite(path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sql: storage dsn: sqlite path %q must be a plain file path", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sql: storage dsn: create directory for %s: %w", path, err)
		}
	}
	base := path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	// IMMEDIATE takes the write lock at BEGIN, so a transaction that reads
	// before it writes cannot fail on upgrading its lock.
	write, err := stdsql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sql: open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	read, err := stdsql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sql: open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	db := newDB(sqliteFlavor, write, read)
	db.writeStmts, db.readStmts = &stmtCache{db: write}, &stmtCache{db: read}
	return db, nil
}

func openPostgres(dsn string) (*DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("sql: storage dsn: %w", err)
	}
	// Without a connect timeout a dial to a server that drops packets waits
	// for the kernel; bound it unless the operator chose otherwise.
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
		u.RawQuery = q.Encode()
	}
	db, err := stdsql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("sql: open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	// Recycling connections lets a failover or restart drain old sessions,
	// and spreads load again after the pool grew under a burst.
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return newDB(postgresFlavor, db, db), nil
}

// redact hides a password in a dsn before it reaches an error message.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}

// Flavor names the database behind db: "sqlite" or "postgres".
func (db *DB) Flavor() string { return db.f.name }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.tx != nil {
		// The pools may be waiting on this very transaction (SQLite's one
		// writer), so ask through it.
		var one int
		return db.f.wrap("ping", db.tx.QueryRowContext(ctx, "SELECT 1").Scan(&one))
	}
	ctx, cancel := db.opCtx(ctx)
	defer cancel()
	if err := db.write.PingContext(ctx); err != nil {
		return pingErr(db.f, err)
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return pingErr(db.f, err)
		}
	}
	return nil
}

// pingErr reports any failure to ping as unavailability: whatever the
// cause, the database cannot serve.
func pingErr(f *flavor, err error) error {
	if c := f.classify(err); c != nil && errors.Is(c, storage.ErrUnavailable) {
		return fmt.Errorf("sql: ping: %w", c)
	}
	return fmt.Errorf("sql: ping: %w", errUnavailable(err))
}

// Close closes the pools. Closing the Store that InTx hands out is an error.
func (db *DB) Close() error {
	if db.tx != nil {
		return errors.New("sql: Close called inside a transaction")
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// opCtx applies Timeout to a context that has no deadline of its own.
func (db *DB) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || db.Timeout <= 0 || db.tx != nil {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, db.Timeout)
}

func (db *DB) now() time.Time { return normTime(db.Now()) }

// querier is what a pool and a transaction have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *stdsql.Row
}

// conn runs statements written in PostgreSQL syntax on one querier,
// through prepared statements when it has a cache.
type conn struct {
	q     querier
	f     *flavor
	stmts *stmtCache
}

func (c conn) exec(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	query = c.f.translate(query)
	if st := c.stmts.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, query, args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	query = c.f.translate(query)
	if st := c.stmts.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, query, args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *stdsql.Row {
	query = c.f.translate(query)
	if st := c.stmts.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, query, args...)
}

// stmtCache keeps one prepared statement per query text for a pool;
// database/sql prepares it again on each connection that runs it.
type stmtCache struct {
	db *stdsql.DB
	m  sync.Map // query -> *stdsql.Stmt
}

// get returns the prepared statement for query, or nil when there is no
// cache or preparing failed; the caller then runs the text directly and
// meets the same error there.
func (c *stmtCache) get(ctx context.Context, query string) *stdsql.Stmt {
	if c == nil {
		return nil
	}
	if st, ok := c.m.Load(query); ok {
		return st.(*stdsql.Stmt)
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*stdsql.Stmt)
	}
	return st
}

// execCount runs a statement and returns how many rows it touched.
func (c conn) execCount(ctx context.Context, query string, args ...any) (int, error) {
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (db *DB) reader() conn {
	if db.tx != nil {
		return conn{q: db.tx, f: db.f}
	}
	return conn{q: db.read, f: db.f, stmts: db.readStmts}
}

func (db *DB) writer() conn {
	if db.tx != nil {
		return conn{q: db.tx, f: db.f}
	}
	return conn{q: db.write, f: db.f, stmts: db.writeStmts}
}

// inTx runs fn in a transaction, or in the current one when db is already
// bound to one. Errors fn returns come back as they are.
func (db *DB) inTx(ctx context.Context, op string, fn func(ctx context.Context, c conn) error) error {
	if db.tx != nil {
		return fn(ctx, conn{q: db.tx, f: db.f})
	}
	ctx, cancel := db.opCtx(ctx)
	defer cancel()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.f.wrap(op, err)
	}
	if err := fn(ctx, conn{q: tx, f: db.f}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.f.wrap(op, err)
	}
	return nil
}

// InTx runs fn in one transaction. A Store already in a transaction reuses
// it, so nested calls commit or roll back with the outermost one.
func (db *DB) InTx(ctx context.Context, fn func(tx storage.Store) error) error {
	if db.tx != nil {
		return fn(db)
	}
	// No default timeout here: fn may do slow work of its own (hashing the
	// passwords of a whole seed file), so only ctx bounds it.
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.f.wrap("begin", err)
	}
	bound := *db
	bound.tx = tx
	if err := fn(&bound); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.f.wrap("commit", err)
	}
	return nil
}

// update is the shape of every Update* method: read the row for update,
// let fn change it, write it back, in one transaction. fn's error aborts
// and is returned as it is.
func update[T any](ctx context.Context, db *DB, op string,
	load func(ctx context.Context, c conn) (T, error),
	fn func(T) (T, error),
	store func(ctx context.Context, c conn, old, new T) error,
) (T, error) {
	var out T
	err := db.inTx(ctx, op, func(ctx context.Context, c conn) error {
		old, err := load(ctx, c)
		if err != nil {
			return db.f.wrap(op, err)
		}
		next, err := fn(old)
		if err != nil {
			return err
		}
		if err := store(ctx, c, old, next); err != nil {
			return db.f.wrap(op, err)
		}
		out = next
		return nil
	})
	return out, err
}

// SetMaxOpenConns caps the connections to PostgreSQL (20 by default). On
// SQLite it changes nothing: writes there always go through one.
func (db *DB) SetMaxOpenConns(n int) {
	if db.f == postgresFlavor {
		db.write.SetMaxOpenConns(n)
		db.write.SetMaxIdleConns(min(n, 10))
	}
}
