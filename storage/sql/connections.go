package sql

import (
	"context"

	"gatehouse/storage"
)

const connectionCols = `id, partner_id, type, name, issuer, client_id, client_secret, metadata_url,
	metadata, created_at, updated_at`

func scanConnection(s scanner) (storage.Connection, error) {
	var c storage.Connection
	err := s.Scan(&c.ID, &c.PartnerID, &c.Type, &c.Name, &c.Issuer, &c.ClientID, blobCol{&c.ClientSecret},
		&c.MetadataURL, &c.Metadata, timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	return c, err
}

// CreateConnection adds a partner's upstream provider; an unknown partner
// is storage.ErrNotFound.
func (db *DB) CreateConnection(ctx context.Context, c storage.Connection) error {
	db.created(&c.CreatedAt, &c.UpdatedAt)
	return db.exec(ctx, "create connection", `INSERT INTO connections (`+connectionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.PartnerID, c.Type, c.Name, c.Issuer, c.ClientID, blob(c.ClientSecret), c.MetadataURL,
		c.Metadata, db.f.timeArg(c.CreatedAt), db.f.timeArg(c.UpdatedAt))
}

func (db *DB) GetConnection(ctx context.Context, id string) (storage.Connection, error) {
	return getOne(ctx, db, "get connection", scanConnection,
		`SELECT `+connectionCols+` FROM connections WHERE id = $1`, id)
}

func (db *DB) ListConnections(ctx context.Context, partnerID string) ([]storage.Connection, error) {
	return list(ctx, db, "list connections", scanConnection,
		`SELECT `+connectionCols+` FROM connections WHERE partner_id = $1 ORDER BY id`, partnerID)
}

func (db *DB) UpdateConnection(ctx context.Context, id string, fn func(storage.Connection) (storage.Connection, error)) (storage.Connection, error) {
	return update(ctx, db, "update connection",
		func(ctx context.Context, c conn) (storage.Connection, error) {
			return getFrom(ctx, c, scanConnection, `SELECT `+connectionCols+` FROM connections WHERE id = $1 FOR UPDATE`, id)
		},
		func(old storage.Connection) (storage.Connection, error) {
			c, err := fn(old)
			c.ID, c.PartnerID, c.CreatedAt, c.UpdatedAt = old.ID, old.PartnerID, old.CreatedAt, db.now()
			return c, err
		},
		func(ctx context.Context, c conn, _, n storage.Connection) error {
			return mustTouch(c.execCount(ctx, `UPDATE connections SET type = $2, name = $3, issuer = $4,
				client_id = $5, client_secret = $6, metadata_url = $7, metadata = $8, updated_at = $9
				WHERE id = $1`,
				n.ID, n.Type, n.Name, n.Issuer, n.ClientID, blob(n.ClientSecret), n.MetadataURL, n.Metadata,
				db.f.timeArg(n.UpdatedAt)))
		})
}

func (db *DB) DeleteConnection(ctx context.Context, id string) error {
	return db.execOne(ctx, "delete connection", `DELETE FROM connections WHERE id = $1`, id)
}
