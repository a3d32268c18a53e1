package admin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"gatehouse/provider/policy"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// updateUser applies a PATCH. A caller changes only their own name and
// phone; anyone else's fields only when they outrank them. A new email
// waits for confirmation; deactivating ends the user's sessions first.
func (h *Handler) updateUser(ctx context.Context, a *actor, id string, in userPatch) (storage.User, error) {
	cur, err := h.target(ctx, a, id)
	if err != nil {
		return cur, err
	}
	self := cur.ID == a.user.ID
	if self && (in.Role != nil || in.Active != nil || in.SSO != nil || in.PasswordResetDisabled != nil || in.Email != nil) {
		return cur, errForbidden("you may change only your own name and phone here")
	}
	if !self && !h.mayManage(a, cur) {
		return cur, errRank(cur.Role)
	}

	var (
		name, phone, role, email string
		e                        *web.APIError
	)
	if in.Name != nil {
		if name, e = cleanText("name", *in.Name, maxName, true); e != nil {
			return cur, e
		}
	}
	if in.Role != nil {
		role = strings.TrimSpace(*in.Role)
		if _, ok := h.roles.Lookup(role); !ok {
			return cur, errField("role", "no such role")
		}
		if role != cur.Role {
			if role == policy.Owner {
				return cur, errForbidden("the owner role cannot be given through the API")
			}
			if !h.mayAssign(a, role) {
				return cur, errRank(role)
			}
			if !kindAllowsRole(cur.Kind, role) {
				return cur, errField("role", "a "+string(cur.Kind)+" user cannot have the role "+role)
			}
		}
	}
	if in.Phone != nil {
		if phone, e = checkPhone(*in.Phone); e != nil {
			return cur, e
		}
	}
	if in.Email != nil {
		if email, e = normEmail("email", *in.Email); e != nil {
			return cur, e
		}
		if email == cur.Email {
			email = ""
		} else if err := h.unique(ctx, a, email, ""); err != nil {
			return cur, err
		}
	}
	if in.SSO != nil && *in.SSO && !cur.SSO {
		if err := h.requireConnection(ctx, a); err != nil {
			return cur, err
		}
	}

	if email != "" {
		// Asked for first: if the rest fails, an unconfirmed change is
		// harmless, and a refusal of the address leaves everything as it was.
		if err := h.requestEmailChange(ctx, a, cur, email); err != nil {
			return cur, err
		}
	}
	if in.Active != nil && !*in.Active && cur.Active {
		if err := h.endSessions(ctx, cur.ID); err != nil {
			return cur, err
		}
	}

	var updated storage.User
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		details := map[string]any{}
		u, err := tx.UpdateUser(ctx, id, func(old storage.User) (storage.User, error) {
			// Checked again on the stored row: a concurrent change of role
			// must not slip a user past the rank rule.
			if !h.sees(a, old) {
				return old, errNotFound("user")
			}
			if !self && !h.roles.CanManage(a.user.Role, old.Role) {
				return old, errRank(old.Role)
			}
			u := old
			change(details, "name", &u.Name, in.Name != nil, name)
			change(details, "phone", &u.Phone, in.Phone != nil, phone)
			if change(details, "role", &u.Role, in.Role != nil, role) {
				u.Notifications = fitNotifications(u.Notifications, u.Role)
			}
			change(details, "active", &u.Active, in.Active != nil, in.Active != nil && *in.Active)
			ssoChanged := change(details, "sso", &u.SSO, in.SSO != nil, in.SSO != nil && *in.SSO)
			change(details, "password_reset_disabled", &u.PasswordResetDisabled,
				in.PasswordResetDisabled != nil, in.PasswordResetDisabled != nil && *in.PasswordResetDisabled)
			// The upstream account linked at the first federated sign-in
			// belongs to the old arrangement: with sso off, or another
			// address coming, a recreated upstream account must be able to
			// link again by its email.
			if u.UpstreamSubject != "" && ((ssoChanged && !u.SSO) || email != "") {
				details["upstream_subject"] = map[string]any{"from": u.UpstreamSubject, "to": ""}
				u.UpstreamSubject = ""
			}
			return u, nil
		})
		if err != nil {
			return notFoundAs(err, errNotFound("user"))
		}
		updated = u
		if email != "" {
			details["pending_email"] = email
		}
		if len(details) == 0 {
			return nil
		}
		details["target_email"] = u.Email
		return h.audit(ctx, tx, a, "user.update", u.ID, details)
	})
	return updated, err
}

// change sets *field to v when asked and different, noting it in details
// as {"from", "to"}; it reports whether it changed anything.
func change[T comparable](details map[string]any, name string, field *T, asked bool, v T) bool {
	if !asked || *field == v {
		return false
	}
	details[name] = map[string]any{"from": *field, "to": v}
	*field = v
	return true
}

// requestEmailChange records the pending address (shown as pending_email)
// and has the user confirm it from a mail to that address (EmailChanges).
func (h *Handler) requestEmailChange(ctx context.Context, a *actor, u storage.User, email string) error {
	if h.cfg.EmailChanges != nil {
		err := h.cfg.EmailChanges.RequestEmailChange(ctx, u, email)
		if errors.Is(err, storage.ErrAlreadyExists) {
			return errDuplicate("email")
		}
		if err != nil {
			return err
		}
	}
	b, err := json.Marshal(emailChange{Email: email, RequestedBy: a.user.ID, RequestedAt: h.now()})
	if err != nil {
		return err
	}
	return h.eph.Set(ctx, EmailChangeKey(u.ID), b, emailChangeTTL)
}

func (h *Handler) pendingEmail(ctx context.Context, userID string) (emailChange, error) {
	var ec emailChange
	b, err := h.eph.Get(ctx, EmailChangeKey(userID))
	if err != nil {
		return ec, err
	}
	return ec, json.Unmarshal(b, &ec)
}

// endSessions ends the user's sessions everywhere and revokes their
// refresh tokens; the user is not to keep using anything they hold.
func (h *Handler) endSessions(ctx context.Context, userID string) error {
	if h.cfg.Sessions != nil {
		if err := h.cfg.Sessions.EndUser(ctx, userID); err != nil {
			return err
		}
	}
	_, err := h.store.RevokeRefreshTokensOfUser(ctx, userID)
	return err
}

// deleteUser ends the user's sessions, then deletes them with an audit
// entry. If the sessions cannot be ended nothing is deleted, so the call
// can be repeated.
func (h *Handler) deleteUser(ctx context.Context, a *actor, id string) error {
	cur, err := h.managed(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.endSessions(ctx, cur.ID); err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.DeleteUser(ctx, cur.ID); err != nil {
			return notFoundAs(err, errNotFound("user"))
		}
		return h.audit(ctx, tx, a, "user.delete", cur.ID, map[string]any{
			"target_email": cur.Email, "kind": string(cur.Kind), "role": cur.Role})
	})
	if err != nil {
		return err
	}
	if err := h.eph.Delete(ctx, LockoutKey(cur.ID), EmailChangeKey(cur.ID)); err != nil {
		h.log.WarnContext(ctx, "admin: clearing a deleted user's ephemeral state", "user", cur.ID, "err", err)
	}
	return nil
}
