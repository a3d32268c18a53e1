package admin

import (
	"context"
	"time"

	"gatehouse/storage"
)

// Pause lengths an admin may choose (INTERFACE.md section 8).
const (
	PauseNextLogin = "next_login"
	Pause24h       = "24h"
	pauseLength    = 24 * time.Hour
)

// pauseIn is the body of POST .../mfa/pause.
type pauseIn struct {
	Until  string `json:"until"`
	Reason string `json:"reason"`
}

// pauseView is a pause as the API shows it.
type pauseView struct {
	Until          string     `json:"until"`
	PauseNextLogin bool       `json:"pause_next_login"`
	PausedUntil    *time.Time `json:"paused_until"`
	Reason         string     `json:"reason"`
}

// updateManaged changes a user the caller outranks, atomically with its
// audit entry. fn edits the stored user and returns the entry's details
// (nil: nothing to record) or an error that aborts.
func (h *Handler) updateManaged(ctx context.Context, a *actor, id, action string,
	fn func(u *storage.User) (map[string]any, error)) (storage.User, error) {
	if _, err := h.managed(ctx, a, id); err != nil {
		return storage.User{}, err
	}
	var out storage.User
	err := h.store.InTx(ctx, func(tx storage.Store) error {
		var details map[string]any
		u, err := tx.UpdateUser(ctx, id, func(old storage.User) (storage.User, error) {
			if !h.mayManage(a, old) {
				return old, errRank(old.Role)
			}
			u := old
			d, err := fn(&u)
			details = d
			return u, err
		})
		if err != nil {
			return notFoundAs(err, errNotFound("user"))
		}
		out = u
		if details == nil {
			return nil
		}
		details["target_email"] = u.Email
		return h.audit(ctx, tx, a, action, u.ID, details)
	})
	return out, err
}

// unlock clears a lockout and the failed sign-in counter behind it.
func (h *Handler) unlock(ctx context.Context, a *actor, id string) error {
	now := h.now()
	u, err := h.updateManaged(ctx, a, id, "user.unlock", func(u *storage.User) (map[string]any, error) {
		d := map[string]any{"was_locked": u.Locked(now)}
		u.LockedUntil = time.Time{}
		return d, nil
	})
	if err != nil {
		return err
	}
	return h.eph.Delete(ctx, LockoutKey(u.ID))
}

// pauseMFA lets the user sign in without their second factor at their next
// sign-in, or for 24 hours (policy.MFARequirement applies it), and tells
// them by mail.
func (h *Handler) pauseMFA(ctx context.Context, a *actor, id string, in pauseIn) (pauseView, error) {
	if in.Until != PauseNextLogin && in.Until != Pause24h {
		return pauseView{}, errField("until", `must be "next_login" or "24h"`)
	}
	reason, e := cleanText("reason", in.Reason, maxReason, false)
	if e != nil {
		return pauseView{}, e
	}
	now := h.now()
	u, err := h.updateManaged(ctx, a, id, "mfa.pause", func(u *storage.User) (map[string]any, error) {
		u.MFAPauseNextLogin = in.Until == PauseNextLogin
		u.MFAPauseUntil = time.Time{}
		if in.Until == Pause24h {
			u.MFAPauseUntil = now.Add(pauseLength)
		}
		u.MFAPauseReason = reason
		d := map[string]any{"until": in.Until, "reason": reason}
		if !u.MFAPauseUntil.IsZero() {
			d["paused_until"] = u.MFAPauseUntil.Format(time.RFC3339)
		}
		return d, nil
	})
	if err != nil {
		return pauseView{}, err
	}
	if h.cfg.Notices != nil {
		if err := h.cfg.Notices.MFAPaused(ctx, u, u.MFAPauseUntil, u.MFAPauseNextLogin, reason); err != nil {
			// The pause stands; the user learns of it at sign-in anyway.
			h.log.WarnContext(ctx, "admin: pause notice not sent", "user", u.ID, "err", err)
		}
	}
	return pauseView{Until: in.Until, PauseNextLogin: u.MFAPauseNextLogin,
		PausedUntil: timePtr(u.MFAPauseUntil), Reason: reason}, nil
}

// endPause ends a pause early.
func (h *Handler) endPause(ctx context.Context, a *actor, id string) error {
	now := h.now()
	_, err := h.updateManaged(ctx, a, id, "mfa.pause_end", func(u *storage.User) (map[string]any, error) {
		d := map[string]any{"was_paused": u.MFAPauseNextLogin || u.MFAPauseUntil.After(now)}
		u.MFAPauseNextLogin, u.MFAPauseUntil, u.MFAPauseReason = false, time.Time{}, ""
		return d, nil
	})
	return err
}

// resetMFA removes every factor of the user; where one is mandatory the
// sign-in flow makes them enrol again (policy.MFADecision.MustEnrol).
func (h *Handler) resetMFA(ctx context.Context, a *actor, id string) (int, error) {
	u, err := h.managed(ctx, a, id)
	if err != nil {
		return 0, err
	}
	var n int
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		var err error
		if n, err = tx.DeleteFactors(ctx, u.ID); err != nil {
			return err
		}
		return h.audit(ctx, tx, a, "mfa.reset", u.ID, map[string]any{"target_email": u.Email, "removed": n})
	})
	return n, err
}

// setNotifications replaces a user's notification preferences: the
// caller's own, or those of a user they outrank.
func (h *Handler) setNotifications(ctx context.Context, a *actor, id string, in notificationsIn) (storage.Notifications, error) {
	cur, err := h.target(ctx, a, id)
	if err != nil {
		return storage.Notifications{}, err
	}
	self := cur.ID == a.user.ID
	if !self && !h.mayManage(a, cur) {
		return storage.Notifications{}, errRank(cur.Role)
	}
	// Validated before the transaction so a bad body never opens one, and
	// again inside against the stored role.
	if _, e := checkNotifications(in, cur.Role); e != nil {
		return storage.Notifications{}, e
	}
	var out storage.Notifications
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		u, err := tx.UpdateUser(ctx, id, func(old storage.User) (storage.User, error) {
			if !h.sees(a, old) || (!self && !h.mayManage(a, old)) {
				return old, errNotFound("user")
			}
			n, e := checkNotifications(in, old.Role)
			if e != nil {
				return old, e
			}
			old.Notifications = n
			return old, nil
		})
		if err != nil {
			return notFoundAs(err, errNotFound("user"))
		}
		out = u.Notifications
		return h.audit(ctx, tx, a, "notifications.update", u.ID, map[string]any{
			"target_email": u.Email, "error": out.Error, "invoice": out.Invoice, "general": out.General,
			"frequency": out.Frequency})
	})
	return out, err
}

// notifications returns a user's preferences: the caller's own, or those of
// a user they see.
func (h *Handler) notifications(ctx context.Context, a *actor, id string) (storage.Notifications, error) {
	u, err := h.target(ctx, a, id)
	if err != nil {
		return storage.Notifications{}, err
	}
	return fitNotifications(u.Notifications, u.Role), nil
}
