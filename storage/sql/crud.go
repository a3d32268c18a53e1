package sql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gatehouse/storage"
)

// The helpers below carry what every method shares: the default timeout,
// the reader or writer connection, and the mapping of driver errors.

// getOne reads one row; no row is storage.ErrNotFound.
func getOne[T any](ctx context.Context, db *DB, op string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	ctx, cancel := db.opCtx(ctx)
	defer cancel()
	var v T
	err := db.retryRead(ctx, op, func() (err error) {
		v, err = scan(db.reader().queryRow(ctx, query, args...))
		return err
	})
	return v, err
}

// retryRead runs a read, and runs it once more when the connection it got
// turned out dead: after a database restart every pooled connection fails
// once, and a read is safe to repeat. Writes are never repeated, since the
// first attempt may have landed.
func (db *DB) retryRead(ctx context.Context, op string, read func() error) error {
	err := db.f.wrap(op, read())
	if err != nil && db.tx == nil && ctx.Err() == nil && errors.Is(err, storage.ErrUnavailable) {
		err = db.f.wrap(op, read())
	}
	return err
}

// getFrom reads one row through c, inside a transaction.
func getFrom[T any](ctx context.Context, c conn, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	return scan(c.queryRow(ctx, query, args...))
}

// list reads every row a query returns.
func list[T any](ctx context.Context, db *DB, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	ctx, cancel := db.opCtx(ctx)
	defer cancel()
	var out []T
	err := db.retryRead(ctx, op, func() error {
		out = nil
		rows, err := db.reader().query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// exec runs one write.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) error {
	_, err := db.execCount(ctx, op, query, args...)
	return err
}

// execCount runs one write and says how many rows it touched.
func (db *DB) execCount(ctx context.Context, op, query string, args ...any) (int, error) {
	ctx, cancel := db.opCtx(ctx)
	defer cancel()
	n, err := db.writer().execCount(ctx, query, args...)
	if err != nil {
		return 0, db.f.wrap(op, err)
	}
	return n, nil
}

// execOne runs a write that must touch a row; touching none is
// storage.ErrNotFound.
func (db *DB) execOne(ctx context.Context, op, query string, args ...any) error {
	n, err := db.execCount(ctx, op, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, storage.ErrNotFound)
	}
	return nil
}

// mustTouch turns "no row changed" into storage.ErrNotFound inside a
// transaction.
func mustTouch(n int, err error) error {
	if err == nil && n == 0 {
		return storage.ErrNotFound
	}
	return err
}

// created fills the timestamps of a new record.
func (db *DB) created(createdAt, updatedAt *time.Time) {
	if createdAt.IsZero() {
		*createdAt = db.now()
	}
	if updatedAt != nil && updatedAt.IsZero() {
		*updatedAt = *createdAt
	}
}
