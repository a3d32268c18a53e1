package sql

import (
	"context"
	"fmt"

	"gatehouse/storage"
)

const partnerCols = `id, name, domain, primary_email, require_mfa, created_at, updated_at`

func scanPartner(s scanner) (storage.Partner, error) {
	var p storage.Partner
	err := s.Scan(&p.ID, &p.Name, &p.Domain, &p.PrimaryEmail, &p.RequireMFA,
		timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	return p, err
}

func (db *DB) CreatePartner(ctx context.Context, p storage.Partner) error {
	db.created(&p.CreatedAt, &p.UpdatedAt)
	return db.exec(ctx, "create partner", `INSERT INTO partners (`+partnerCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.ID, p.Name, p.Domain, p.PrimaryEmail, p.RequireMFA, db.f.timeArg(p.CreatedAt), db.f.timeArg(p.UpdatedAt))
}

func (db *DB) GetPartner(ctx context.Context, id string) (storage.Partner, error) {
	return getOne(ctx, db, "get partner", scanPartner,
		`SELECT `+partnerCols+` FROM partners WHERE id = $1`, id)
}

func (db *DB) ListPartners(ctx context.Context) ([]storage.Partner, error) {
	return list(ctx, db, "list partners", scanPartner,
		`SELECT `+partnerCols+` FROM partners ORDER BY id`)
}

func (db *DB) UpdatePartner(ctx context.Context, id string, fn func(storage.Partner) (storage.Partner, error)) (storage.Partner, error) {
	return update(ctx, db, "update partner",
		func(ctx context.Context, c conn) (storage.Partner, error) {
			return getFrom(ctx, c, scanPartner, `SELECT `+partnerCols+` FROM partners WHERE id = $1 FOR UPDATE`, id)
		},
		func(old storage.Partner) (storage.Partner, error) {
			p, err := fn(old)
			p.ID, p.CreatedAt, p.UpdatedAt = old.ID, old.CreatedAt, db.now()
			return p, err
		},
		func(ctx context.Context, c conn, _, p storage.Partner) error {
			return mustTouch(c.execCount(ctx, `UPDATE partners SET name = $2, domain = $3, primary_email = $4,
				require_mfa = $5, updated_at = $6 WHERE id = $1`,
				p.ID, p.Name, p.Domain, p.PrimaryEmail, p.RequireMFA, db.f.timeArg(p.UpdatedAt)))
		})
}

const organizationCols = `partner_id, id, name, co_management, saas_account, created_at, updated_at`

func scanOrganization(s scanner) (storage.Organization, error) {
	var o storage.Organization
	err := s.Scan(&o.PartnerID, &o.ID, &o.Name, &o.CoManagement, &o.SaaSAccount,
		timeCol{&o.CreatedAt}, timeCol{&o.UpdatedAt})
	return o, err
}

// CreateOrganization adds an organization to its partner. Organization ids
// are unique within a partner; an unknown partner is storage.ErrNotFound.
func (db *DB) CreateOrganization(ctx context.Context, o storage.Organization) error {
	db.created(&o.CreatedAt, &o.UpdatedAt)
	return db.exec(ctx, "create organization", `INSERT INTO organizations (`+organizationCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		o.PartnerID, o.ID, o.Name, o.CoManagement, o.SaaSAccount, db.f.timeArg(o.CreatedAt), db.f.timeArg(o.UpdatedAt))
}

func (db *DB) GetOrganization(ctx context.Context, partnerID, id string) (storage.Organization, error) {
	return getOne(ctx, db, "get organization", scanOrganization,
		`SELECT `+organizationCols+` FROM organizations WHERE partner_id = $1 AND id = $2`, partnerID, id)
}

func (db *DB) ListOrganizations(ctx context.Context, partnerID string, f storage.OrganizationFilter) ([]storage.Organization, error) {
	q := `SELECT ` + organizationCols + ` FROM organizations WHERE partner_id = $1`
	if f.Mapped != nil {
		if *f.Mapped {
			q += ` AND saas_account <> ''`
		} else {
			q += ` AND saas_account = ''`
		}
	}
	return list(ctx, db, "list organizations", scanOrganization, q+` ORDER BY name, id`, partnerID)
}

func (db *DB) UpdateOrganization(ctx context.Context, partnerID, id string, fn func(storage.Organization) (storage.Organization, error)) (storage.Organization, error) {
	return update(ctx, db, "update organization",
		func(ctx context.Context, c conn) (storage.Organization, error) {
			return getFrom(ctx, c, scanOrganization, `SELECT `+organizationCols+` FROM organizations
				WHERE partner_id = $1 AND id = $2 FOR UPDATE`, partnerID, id)
		},
		func(old storage.Organization) (storage.Organization, error) {
			o, err := fn(old)
			o.PartnerID, o.ID, o.CreatedAt, o.UpdatedAt = old.PartnerID, old.ID, old.CreatedAt, db.now()
			return o, err
		},
		func(ctx context.Context, c conn, _, o storage.Organization) error {
			return mustTouch(c.execCount(ctx, `UPDATE organizations SET name = $3, co_management = $4,
				saas_account = $5, updated_at = $6 WHERE partner_id = $1 AND id = $2`,
				o.PartnerID, o.ID, o.Name, o.CoManagement, o.SaaSAccount, db.f.timeArg(o.UpdatedAt)))
		})
}

// DeleteOrganization removes an empty organization; while users belong to
// it the answer is storage.ErrConflict.
func (db *DB) DeleteOrganization(ctx context.Context, partnerID, id string) error {
	const op = "delete organization"
	return db.inTx(ctx, op, func(ctx context.Context, c conn) error {
		// Locking the row makes concurrent deletes and updates of the
		// organization wait for this one.
		if _, err := getFrom(ctx, c, scanOrganization, `SELECT `+organizationCols+` FROM organizations
			WHERE partner_id = $1 AND id = $2 FOR UPDATE`, partnerID, id); err != nil {
			return db.f.wrap(op, err)
		}
		var n int
		if err := c.queryRow(ctx, `SELECT count(*) FROM users WHERE partner_id = $1 AND organization_id = $2`,
			partnerID, id).Scan(&n); err != nil {
			return db.f.wrap(op, err)
		}
		if n > 0 {
			return fmt.Errorf("%s: %d users belong to it: %w", op, n, storage.ErrConflict)
		}
		_, err := c.exec(ctx, `DELETE FROM organizations WHERE partner_id = $1 AND id = $2`, partnerID, id)
		return db.f.wrap(op, err)
	})
}
