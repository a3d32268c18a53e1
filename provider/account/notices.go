package account

import (
	"context"
	"time"

	"gatehouse/mail"
	"gatehouse/storage"
)

// MFAPaused tells u by mail that an admin paused their second factor, for
// the next sign-in (nextLogin) or until until, with the admin's reason.
func (h *Handler) MFAPaused(ctx context.Context, u storage.User, until time.Time, nextLogin bool, reason string) error {
	return h.sendErr(ctx, mail.MFAPaused, u.Email, mail.Data{
		Name: u.Name, Email: u.Email, Until: until, NextLogin: nextLogin, Reason: reason,
	})
}

// NotifyLocked tells u by mail that their account was locked until until
// (the far future for a lockout only an admin lifts), and, where they may
// reset their password, how to unlock it themselves.
func (h *Handler) NotifyLocked(ctx context.Context, u storage.User, until time.Time) error {
	d := mail.Data{Name: u.Name, Email: u.Email}
	if until.Before(h.now().AddDate(10, 0, 0)) {
		d.Until = until
	}
	if u.Active && !u.SSO && !u.PasswordResetDisabled {
		d.Link = h.issuer + "/login/forgot"
	}
	return h.sendErr(ctx, mail.Locked, u.Email, d)
}
