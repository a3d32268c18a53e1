package sql

import (
	"context"

	"gatehouse/storage"
)

const keyCols = `id, alg, private_key, active, created_at, retired_at`

func scanKey(s scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	err := s.Scan(&k.ID, &k.Alg, blobCol{&k.PrivateKey}, &k.Active, timeCol{&k.CreatedAt}, timeCol{&k.RetiredAt})
	return k, err
}

func (db *DB) CreateKey(ctx context.Context, k storage.SigningKey) error {
	db.created(&k.CreatedAt, nil)
	return db.exec(ctx, "create key", `INSERT INTO signing_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Alg, blob(k.PrivateKey), k.Active, db.f.timeArg(k.CreatedAt), db.f.timeArg(k.RetiredAt))
}

// ListKeys returns every key, newest first.
func (db *DB) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return list(ctx, db, "list keys", scanKey,
		`SELECT `+keyCols+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
}

func (db *DB) UpdateKey(ctx context.Context, id string, fn func(storage.SigningKey) (storage.SigningKey, error)) (storage.SigningKey, error) {
	return update(ctx, db, "update key",
		func(ctx context.Context, c conn) (storage.SigningKey, error) {
			return getFrom(ctx, c, scanKey, `SELECT `+keyCols+` FROM signing_keys WHERE id = $1 FOR UPDATE`, id)
		},
		func(old storage.SigningKey) (storage.SigningKey, error) {
			k, err := fn(old)
			k.ID, k.CreatedAt = old.ID, old.CreatedAt
			return k, err
		},
		func(ctx context.Context, c conn, _, k storage.SigningKey) error {
			return mustTouch(c.execCount(ctx, `UPDATE signing_keys SET alg = $2, private_key = $3, active = $4,
				retired_at = $5 WHERE id = $1`,
				k.ID, k.Alg, blob(k.PrivateKey), k.Active, db.f.timeArg(k.RetiredAt)))
		})
}

func (db *DB) DeleteKey(ctx context.Context, id string) error {
	return db.execOne(ctx, "delete key", `DELETE FROM signing_keys WHERE id = $1`, id)
}
