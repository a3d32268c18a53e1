package sql

import (
	"context"

	"gatehouse/storage"
)

const clientCols = `id, name, secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri,
	grant_types, scopes, token_endpoint_auth_method, jwks_uri, allowed_roles, first_party, id_token_alg,
	created_at, updated_at`

func scanClient(s scanner) (storage.Client, error) {
	var c storage.Client
	err := s.Scan(&c.ID, &c.Name, &c.SecretHash, listCol{&c.RedirectURIs}, listCol{&c.PostLogoutRedirectURIs},
		&c.BackchannelLogoutURI, listCol{&c.GrantTypes}, listCol{&c.Scopes}, &c.TokenEndpointAuthMethod,
		&c.JWKSURI, listCol{&c.AllowedRoles}, &c.FirstParty, &c.IDTokenAlg,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	return c, err
}

func (db *DB) clientArgs(c storage.Client) []any {
	return []any{c.ID, c.Name, c.SecretHash, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs),
		c.BackchannelLogoutURI, jsonList(c.GrantTypes), jsonList(c.Scopes), c.TokenEndpointAuthMethod,
		c.JWKSURI, jsonList(c.AllowedRoles), c.FirstParty, c.IDTokenAlg,
		db.f.timeArg(c.CreatedAt), db.f.timeArg(c.UpdatedAt)}
}

func (db *DB) CreateClient(ctx context.Context, c storage.Client) error {
	db.created(&c.CreatedAt, &c.UpdatedAt)
	return db.exec(ctx, "create client", `INSERT INTO clients (`+clientCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, db.clientArgs(c)...)
}

func (db *DB) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return getOne(ctx, db, "get client", scanClient, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id)
}

func (db *DB) ListClients(ctx context.Context) ([]storage.Client, error) {
	return list(ctx, db, "list clients", scanClient, `SELECT `+clientCols+` FROM clients ORDER BY id`)
}

func (db *DB) UpdateClient(ctx context.Context, id string, fn func(storage.Client) (storage.Client, error)) (storage.Client, error) {
	return update(ctx, db, "update client",
		func(ctx context.Context, c conn) (storage.Client, error) {
			return getFrom(ctx, c, scanClient, `SELECT `+clientCols+` FROM clients WHERE id = $1 FOR UPDATE`, id)
		},
		func(old storage.Client) (storage.Client, error) {
			c, err := fn(old)
			c.ID, c.CreatedAt, c.UpdatedAt = old.ID, old.CreatedAt, db.now()
			return c, err
		},
		func(ctx context.Context, c conn, _, n storage.Client) error {
			return mustTouch(c.execCount(ctx, `UPDATE clients SET name = $2, secret_hash = $3,
				redirect_uris = $4, post_logout_redirect_uris = $5, backchannel_logout_uri = $6,
				grant_types = $7, scopes = $8, token_endpoint_auth_method = $9, jwks_uri = $10,
				allowed_roles = $11, first_party = $12, id_token_alg = $13, created_at = $14, updated_at = $15
				WHERE id = $1`, db.clientArgs(n)...))
		})
}

func (db *DB) DeleteClient(ctx context.Context, id string) error {
	return db.execOne(ctx, "delete client", `DELETE FROM clients WHERE id = $1`, id)
}

const spCols = `entity_id, name, metadata, metadata_url, allowed_roles, created_at, updated_at`

func scanSP(s scanner) (storage.ServiceProvider, error) {
	var sp storage.ServiceProvider
	err := s.Scan(&sp.EntityID, &sp.Name, &sp.Metadata, &sp.MetadataURL, listCol{&sp.AllowedRoles},
		timeCol{&sp.CreatedAt}, timeCol{&sp.UpdatedAt})
	return sp, err
}

func (db *DB) spArgs(sp storage.ServiceProvider) []any {
	return []any{sp.EntityID, sp.Name, sp.Metadata, sp.MetadataURL, jsonList(sp.AllowedRoles),
		db.f.timeArg(sp.CreatedAt), db.f.timeArg(sp.UpdatedAt)}
}

func (db *DB) CreateServiceProvider(ctx context.Context, sp storage.ServiceProvider) error {
	db.created(&sp.CreatedAt, &sp.UpdatedAt)
	return db.exec(ctx, "create service provider", `INSERT INTO service_providers (`+spCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, db.spArgs(sp)...)
}

func (db *DB) GetServiceProvider(ctx context.Context, entityID string) (storage.ServiceProvider, error) {
	return getOne(ctx, db, "get service provider", scanSP,
		`SELECT `+spCols+` FROM service_providers WHERE entity_id = $1`, entityID)
}

func (db *DB) ListServiceProviders(ctx context.Context) ([]storage.ServiceProvider, error) {
	return list(ctx, db, "list service providers", scanSP,
		`SELECT `+spCols+` FROM service_providers ORDER BY entity_id`)
}

func (db *DB) UpdateServiceProvider(ctx context.Context, entityID string, fn func(storage.ServiceProvider) (storage.ServiceProvider, error)) (storage.ServiceProvider, error) {
	return update(ctx, db, "update service provider",
		func(ctx context.Context, c conn) (storage.ServiceProvider, error) {
			return getFrom(ctx, c, scanSP, `SELECT `+spCols+` FROM service_providers WHERE entity_id = $1 FOR UPDATE`, entityID)
		},
		func(old storage.ServiceProvider) (storage.ServiceProvider, error) {
			sp, err := fn(old)
			sp.EntityID, sp.CreatedAt, sp.UpdatedAt = old.EntityID, old.CreatedAt, db.now()
			return sp, err
		},
		func(ctx context.Context, c conn, _, n storage.ServiceProvider) error {
			return mustTouch(c.execCount(ctx, `UPDATE service_providers SET name = $2, metadata = $3,
				metadata_url = $4, allowed_roles = $5, created_at = $6, updated_at = $7
				WHERE entity_id = $1`, db.spArgs(n)...))
		})
}

func (db *DB) DeleteServiceProvider(ctx context.Context, entityID string) error {
	return db.execOne(ctx, "delete service provider", `DELETE FROM service_providers WHERE entity_id = $1`, entityID)
}
