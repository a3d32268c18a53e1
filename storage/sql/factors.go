package sql

import (
	"context"
	"fmt"
	"strings"

	"gatehouse/storage"
)

const factorCols = `id, user_id, kind, name, secret, counter, created_at, last_used_at`

func scanFactor(s scanner) (storage.Factor, error) {
	var (
		f       storage.Factor
		counter int64
	)
	err := s.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, blobCol{&f.Secret}, &counter,
		timeCol{&f.CreatedAt}, timeCol{&f.LastUsedAt})
	f.Counter = uint32(counter)
	return f, err
}

// CreateFactor enrols a factor; an unknown user is storage.ErrNotFound.
func (db *DB) CreateFactor(ctx context.Context, f storage.Factor) error {
	db.created(&f.CreatedAt, nil)
	return db.exec(ctx, "create factor", `INSERT INTO factors (`+factorCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.UserID, string(f.Kind), f.Name, blob(f.Secret), int64(f.Counter),
		db.f.timeArg(f.CreatedAt), db.f.timeArg(f.LastUsedAt))
}

// ListFactors returns a user's factors, oldest first.
func (db *DB) ListFactors(ctx context.Context, userID string) ([]storage.Factor, error) {
	return list(ctx, db, "list factors", scanFactor,
		`SELECT `+factorCols+` FROM factors WHERE user_id = $1 ORDER BY created_at, id`, userID)
}

// kindsChunk bounds the ids of one ListFactorKinds query; a longer list
// takes several. Each query's id list is padded to a power of two (from
// kindsMinIn), so the statement cache holds a handful of texts rather than
// one per list length.
const (
	kindsChunk = 512
	kindsMinIn = 8
)

// ListFactorKinds returns each user's distinct factor kinds, in one query
// per kindsChunk users.
func (db *DB) ListFactorKinds(ctx context.Context, userIDs []string) (map[string][]storage.FactorKind, error) {
	type userKind struct {
		user string
		kind storage.FactorKind
	}
	scan := func(s scanner) (userKind, error) {
		var uk userKind
		err := s.Scan(&uk.user, &uk.kind)
		return uk, err
	}
	out := map[string][]storage.FactorKind{}
	for len(userIDs) > 0 {
		chunk := userIDs[:min(len(userIDs), kindsChunk)]
		userIDs = userIDs[len(chunk):]
		n := kindsMinIn
		for n < len(chunk) {
			n *= 2
		}
		args := make([]any, n)
		ph := make([]string, n)
		for i := range n {
			// Padding repeats the first id: IN ignores the duplicates.
			args[i] = chunk[0]
			if i < len(chunk) {
				args[i] = chunk[i]
			}
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		rows, err := list(ctx, db, "list factor kinds", scan,
			`SELECT DISTINCT user_id, kind FROM factors WHERE user_id IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.user] = append(out[r.user], r.kind)
		}
	}
	return out, nil
}

func (db *DB) UpdateFactor(ctx context.Context, id string, fn func(storage.Factor) (storage.Factor, error)) (storage.Factor, error) {
	return update(ctx, db, "update factor",
		func(ctx context.Context, c conn) (storage.Factor, error) {
			return getFrom(ctx, c, scanFactor, `SELECT `+factorCols+` FROM factors WHERE id = $1 FOR UPDATE`, id)
		},
		func(old storage.Factor) (storage.Factor, error) {
			f, err := fn(old)
			f.ID, f.UserID, f.CreatedAt = old.ID, old.UserID, old.CreatedAt
			return f, err
		},
		func(ctx context.Context, c conn, _, f storage.Factor) error {
			return mustTouch(c.execCount(ctx, `UPDATE factors SET kind = $2, name = $3, secret = $4,
				counter = $5, last_used_at = $6 WHERE id = $1`,
				f.ID, string(f.Kind), f.Name, blob(f.Secret), int64(f.Counter), db.f.timeArg(f.LastUsedAt)))
		})
}

// DeleteFactor removes one factor. Of two callers deleting the same
// factor only one succeeds; the other gets storage.ErrNotFound, which is
// what makes a recovery code single-use.
func (db *DB) DeleteFactor(ctx context.Context, id string) error {
	return db.execOne(ctx, "delete factor", `DELETE FROM factors WHERE id = $1`, id)
}

// DeleteFactors removes a user's factors of the given kinds, or all of them.
func (db *DB) DeleteFactors(ctx context.Context, userID string, kinds ...storage.FactorKind) (int, error) {
	q := `DELETE FROM factors WHERE user_id = $1`
	args := []any{userID}
	if len(kinds) > 0 {
		ph := make([]string, len(kinds))
		for i, k := range kinds {
			args = append(args, string(k))
			ph[i] = fmt.Sprintf("$%d", i+2)
		}
		q += ` AND kind IN (` + strings.Join(ph, ", ") + `)`
	}
	return db.execCount(ctx, "delete factors", q, args...)
}

const consentCols = `user_id, client_id, scopes, granted_at`

func scanConsent(s scanner) (storage.Consent, error) {
	var c storage.Consent
	err := s.Scan(&c.UserID, &c.ClientID, listCol{&c.Scopes}, timeCol{&c.GrantedAt})
	return c, err
}

func (db *DB) GetConsent(ctx context.Context, userID, clientID string) (storage.Consent, error) {
	return getOne(ctx, db, "get consent", scanConsent,
		`SELECT `+consentCols+` FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
}

// PutConsent records or replaces a user's consent to a client.
func (db *DB) PutConsent(ctx context.Context, c storage.Consent) error {
	db.created(&c.GrantedAt, nil)
	return db.exec(ctx, "put consent", `INSERT INTO consents (`+consentCols+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, jsonList(c.Scopes), db.f.timeArg(c.GrantedAt))
}
