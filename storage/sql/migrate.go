package sql

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered file of migrations/: NNNN_name.sql.
type migration struct {
	version int
	name    string
	body    string
}

func loadMigrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sql: migration file %s: want NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, body: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sql: two migrations numbered %d", ms[i].version)
		}
	}
	return ms, nil
}

// migrateLockKey is the PostgreSQL advisory lock that serialises nodes
// migrating the same database at once ("gatehous" in ASCII).
const migrateLockKey int64 = 0x67617465686f7573

// Migrate applies every migration the database has not seen yet, each in
// its own transaction, and records it in schema_migrations. It is safe to
// call on every start and from several nodes at once: on PostgreSQL each
// step holds an advisory lock and checks again what is applied; on SQLite
// the write lock does the same.
func (db *DB) Migrate(ctx context.Context) error {
	if db.tx != nil {
		return errors.New("sql: Migrate called inside a transaction")
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	err = db.inTx(ctx, "migrate", func(ctx context.Context, c conn) error {
		if err := db.migrateLock(ctx, c); err != nil {
			return err
		}
		_, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL
		)`)
		return err
	})
	if err != nil {
		return db.f.wrap("migrate: create schema_migrations", err)
	}
	for _, m := range ms {
		err := db.inTx(ctx, "migrate", func(ctx context.Context, c conn) error {
			if err := db.migrateLock(ctx, c); err != nil {
				return err
			}
			var n int
			err := c.queryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			if _, err := c.exec(ctx, m.body); err != nil {
				return err
			}
			_, err = c.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, db.f.timeArg(db.now()))
			return err
		})
		if err != nil {
			return db.f.wrap(fmt.Sprintf("migrate: %04d_%s", m.version, m.name), err)
		}
	}
	return nil
}

// migrateLock takes the transaction-scoped advisory lock on PostgreSQL, so
// it is released with the transaction whatever happens. SQLite needs none:
// its transactions begin holding the write lock.
func (db *DB) migrateLock(ctx context.Context, c conn) error {
	if db.f != postgresFlavor {
		return nil
	}
	_, err := c.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey)
	return err
}

// SchemaVersion returns the highest migration applied. It fails on a
// database that Migrate never ran on.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	ctx, cancel := db.opCtx(ctx)
	defer cancel()
	var v int
	err := db.reader().queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, db.f.wrap("schema version", err)
	}
	return v, nil
}
