package sql

import (
	"context"
	"fmt"
	"time"

	"gatehouse/storage"
)

const tokenCols = `signature, family_id, client_id, user_id, session_id, data, active, used_at,
	expires_at, created_at`

func scanToken(s scanner) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	err := s.Scan(&t.Signature, &t.FamilyID, &t.ClientID, &t.UserID, &t.SessionID, blobCol{&t.Data},
		&t.Active, timeCol{&t.UsedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.CreatedAt})
	return t, err
}

func (db *DB) CreateRefreshToken(ctx context.Context, t storage.RefreshToken) error {
	db.created(&t.CreatedAt, nil)
	return db.exec(ctx, "create refresh token", `INSERT INTO refresh_tokens (`+tokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.Signature, t.FamilyID, t.ClientID, t.UserID, t.SessionID, blob(t.Data), t.Active,
		db.f.timeArg(t.UsedAt), db.f.timeArg(t.ExpiresAt), db.f.timeArg(t.CreatedAt))
}

func (db *DB) GetRefreshToken(ctx context.Context, signature string) (storage.RefreshToken, error) {
	return getOne(ctx, db, "get refresh token", scanToken,
		`SELECT `+tokenCols+` FROM refresh_tokens WHERE signature = $1`, signature)
}

// UseRefreshToken marks an active, unused token used. The condition and
// the write are one statement, so the database decides the race: exactly
// one caller's UPDATE matches the row.
func (db *DB) UseRefreshToken(ctx context.Context, signature string, at time.Time) (storage.RefreshToken, error) {
	const op = "use refresh token"
	if at.IsZero() {
		at = db.now()
	}
	ctx, cancel := db.opCtx(ctx)
	defer cancel()
	t, err := scanToken(db.writer().queryRow(ctx, `UPDATE refresh_tokens SET used_at = $2
		WHERE signature = $1 AND active AND used_at IS NULL
		RETURNING `+tokenCols, signature, db.f.timeArg(at)))
	if err == nil {
		return t, nil
	}
	if c := db.f.classify(err); c != storage.ErrNotFound {
		return storage.RefreshToken{}, db.f.wrap(op, err)
	}
	// Nothing matched: tell a token that is gone from one that is spent.
	var n int
	if err := db.reader().queryRow(ctx, `SELECT count(*) FROM refresh_tokens WHERE signature = $1`,
		signature).Scan(&n); err != nil {
		return storage.RefreshToken{}, db.f.wrap(op, err)
	}
	if n == 0 {
		return storage.RefreshToken{}, fmt.Errorf("%s: %w", op, storage.ErrNotFound)
	}
	return storage.RefreshToken{}, fmt.Errorf("%s: used or revoked: %w", op, storage.ErrConflict)
}

// RevokeRefreshToken makes one token inactive; an unknown signature is
// storage.ErrNotFound.
func (db *DB) RevokeRefreshToken(ctx context.Context, signature string) error {
	return db.execOne(ctx, "revoke refresh token",
		`UPDATE refresh_tokens SET active = FALSE WHERE signature = $1`, signature)
}

func (db *DB) RevokeRefreshFamily(ctx context.Context, familyID string) (int, error) {
	return db.execCount(ctx, "revoke refresh family",
		`UPDATE refresh_tokens SET active = FALSE WHERE family_id = $1 AND active`, familyID)
}

func (db *DB) RevokeRefreshTokensOfUser(ctx context.Context, userID string) (int, error) {
	return db.execCount(ctx, "revoke refresh tokens of user",
		`UPDATE refresh_tokens SET active = FALSE WHERE user_id = $1 AND active`, userID)
}

func (db *DB) RevokeRefreshTokensOfSession(ctx context.Context, sessionID string) (int, error) {
	return db.execCount(ctx, "revoke refresh tokens of session",
		`UPDATE refresh_tokens SET active = FALSE WHERE session_id = $1 AND active`, sessionID)
}

// DeleteExpiredRefreshTokens removes tokens that expired before the given
// time. A token without an expiry never goes.
func (db *DB) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int, error) {
	return db.execCount(ctx, "delete expired refresh tokens",
		`DELETE FROM refresh_tokens WHERE expires_at < $1`, db.f.timeArg(before))
}
