package sql

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"gatehouse/storage"
)

const userCols = `id, partner_id, email, name, kind, role, phone, username, organization_id,
	password_hash, active, sso, password_reset_disabled, locked_until,
	mfa_pause_next_login, mfa_pause_until, mfa_pause_reason, upstream_subject,
	notifications, password_changed_at, created_at, updated_at`

func scanUser(s scanner) (storage.User, error) {
	var u storage.User
	err := s.Scan(&u.ID, &u.PartnerID, &u.Email, &u.Name, &u.Kind, &u.Role, &u.Phone, &u.Username,
		&u.OrganizationID, &u.PasswordHash, &u.Active, &u.SSO, &u.PasswordResetDisabled,
		timeCol{&u.LockedUntil}, &u.MFAPauseNextLogin, timeCol{&u.MFAPauseUntil}, &u.MFAPauseReason,
		&u.UpstreamSubject, jsonCol{&u.Notifications}, timeCol{&u.PasswordChangedAt},
		timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt})
	return u, err
}

// userArgs lists u's fields in userCols order. Emails and usernames are
// lower-cased here, once, so every lookup and unique index can compare
// them exactly.
func (db *DB) userArgs(u storage.User) ([]any, error) {
	notif, err := jsonEncode(u.Notifications)
	if err != nil {
		return nil, err
	}
	t := db.f.timeArg
	return []any{u.ID, u.PartnerID, normEmail(u.Email), u.Name, string(u.Kind), u.Role, u.Phone,
		normUsername(u.Username), u.OrganizationID, u.PasswordHash, u.Active, u.SSO, u.PasswordResetDisabled,
		t(u.LockedUntil), u.MFAPauseNextLogin, t(u.MFAPauseUntil), u.MFAPauseReason, u.UpstreamSubject,
		notif, t(u.PasswordChangedAt), t(u.CreatedAt), t(u.UpdatedAt)}, nil
}

func normEmail(s string) string    { return strings.ToLower(strings.TrimSpace(s)) }
func normUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CreateUser stores a new user. A taken email (in any partner) or a taken
// username within the partner is storage.ErrAlreadyExists; an unknown
// partner is storage.ErrNotFound.
func (db *DB) CreateUser(ctx context.Context, u storage.User) error {
	db.created(&u.CreatedAt, &u.UpdatedAt)
	args, err := db.userArgs(u)
	if err != nil {
		return err
	}
	return db.exec(ctx, "create user", `INSERT INTO users (`+userCols+`) VALUES
		($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		args...)
}

func (db *DB) GetUser(ctx context.Context, id string) (storage.User, error) {
	return getOne(ctx, db, "get user", scanUser, `SELECT `+userCols+` FROM users WHERE id = $1`, id)
}

// GetUserByEmail finds a user by email, ignoring case.
func (db *DB) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	email = normEmail(email)
	if email == "" {
		return storage.User{}, fmt.Errorf("get user by email: %w", storage.ErrNotFound)
	}
	// The redundant condition lets the planner use the partial unique
	// index, which it cannot prove applies to an arbitrary parameter.
	return getOne(ctx, db, "get user by email", scanUser,
		`SELECT `+userCols+` FROM users WHERE email = $1 AND email <> ''`, email)
}

// GetUserByUsername finds a partner's co-managing user, ignoring case.
func (db *DB) GetUserByUsername(ctx context.Context, partnerID, username string) (storage.User, error) {
	username = normUsername(username)
	if username == "" {
		return storage.User{}, fmt.Errorf("get user by username: %w", storage.ErrNotFound)
	}
	return getOne(ctx, db, "get user by username", scanUser,
		`SELECT `+userCols+` FROM users WHERE partner_id = $1 AND username = $2 AND username <> ''`, partnerID, username)
}

// Page sizes of ListUsers and ListAudit.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func pageSize(p storage.Page) int {
	switch {
	case p.Limit <= 0:
		return defaultPageSize
	case p.Limit > maxPageSize:
		return maxPageSize
	}
	return p.Limit
}

// ListUsers pages through users in email order. The page token holds the
// last email and id returned, so a page starts exactly after it however
// the table changed in between.
func (db *DB) ListUsers(ctx context.Context, f storage.UserFilter, p storage.Page) ([]storage.User, string, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.PartnerID != "" {
		where = append(where, "partner_id = "+arg(f.PartnerID))
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(string(f.Kind)))
	}
	if f.Role != "" {
		where = append(where, "role = "+arg(f.Role))
	}
	if f.OrganizationID != "" {
		where = append(where, "organization_id = "+arg(f.OrganizationID))
	}
	if f.Query != "" {
		pat := arg("%" + escapeLike(strings.ToLower(f.Query)) + "%")
		where = append(where, fmt.Sprintf(`(email LIKE %[1]s ESCAPE '\' OR lower(name) LIKE %[1]s ESCAPE '\' OR username LIKE %[1]s ESCAPE '\')`, pat))
	}
	if p.Token != "" {
		email, id, err := decodeToken(p.Token)
		if err != nil {
			return nil, "", err
		}
		e := arg(email)
		where = append(where, fmt.Sprintf("(email > %[1]s OR (email = %[1]s AND id > %[2]s))", e, arg(id)))
	}
	q := `SELECT ` + userCols + ` FROM users`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := pageSize(p)
	q += ` ORDER BY email, id LIMIT ` + arg(limit+1)

	users, err := list(ctx, db, "list users", scanUser, q, args...)
	if err != nil {
		return nil, "", err
	}
	if len(users) <= limit {
		return users, "", nil
	}
	users = users[:limit]
	last := users[limit-1]
	return users, encodeToken(last.Email, last.ID), nil
}

// escapeLike makes s match itself literally in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Page tokens are opaque to callers: two strings joined by a NUL, base64.
func encodeToken(a, b string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(a + "\x00" + b))
}

func decodeToken(tok string) (string, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if a, b, ok := strings.Cut(string(raw), "\x00"); ok {
			return a, b, nil
		}
	}
	// A token we never issued names no page.
	return "", "", fmt.Errorf("bad page token: %w", storage.ErrNotFound)
}

func (db *DB) UpdateUser(ctx context.Context, id string, fn func(storage.User) (storage.User, error)) (storage.User, error) {
	return update(ctx, db, "update user",
		func(ctx context.Context, c conn) (storage.User, error) {
			return getFrom(ctx, c, scanUser, `SELECT `+userCols+` FROM users WHERE id = $1 FOR UPDATE`, id)
		},
		func(old storage.User) (storage.User, error) {
			u, err := fn(old)
			u.ID, u.CreatedAt, u.UpdatedAt = old.ID, old.CreatedAt, db.now()
			u.Email, u.Username = normEmail(u.Email), normUsername(u.Username)
			return u, err
		},
		func(ctx context.Context, c conn, _, u storage.User) error {
			args, err := db.userArgs(u)
			if err != nil {
				return err
			}
			return mustTouch(c.execCount(ctx, `UPDATE users SET partner_id = $2, email = $3, name = $4,
				kind = $5, role = $6, phone = $7, username = $8, organization_id = $9, password_hash = $10,
				active = $11, sso = $12, password_reset_disabled = $13, locked_until = $14,
				mfa_pause_next_login = $15, mfa_pause_until = $16, mfa_pause_reason = $17,
				upstream_subject = $18, notifications = $19, password_changed_at = $20, created_at = $21, updated_at = $22
				WHERE id = $1`, args...))
		})
}

// DeleteUser removes a user with their factors and consents.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	return db.inTx(ctx, op, func(ctx context.Context, c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM factors WHERE user_id = $1`, id); err != nil {
			return db.f.wrap(op, err)
		}
		if _, err := c.exec(ctx, `DELETE FROM consents WHERE user_id = $1`, id); err != nil {
			return db.f.wrap(op, err)
		}
		return db.f.wrap(op, mustTouch(c.execCount(ctx, `DELETE FROM users WHERE id = $1`, id)))
	})
}
