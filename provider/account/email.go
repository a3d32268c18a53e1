package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	gmail "gatehouse/mail"
	"gatehouse/storage"
)

// maxEmail is the longest address a mailbox can have (RFC 5321 4.5.3.1).
const maxEmail = 254

// ErrInvalidEmail is RequestEmailChange's answer for an address that is
// not a plain, valid email address; the admin API reports it as 422.
var ErrInvalidEmail = errors.New("email: not a valid email address")

// NormalizeEmail returns addr trimmed and lower-cased if it is a plain
// email address (no display name, at most 254 characters), or
// ErrInvalidEmail.
func NormalizeEmail(addr string) (string, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if addr == "" || len(addr) > maxEmail {
		return "", ErrInvalidEmail
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return "", ErrInvalidEmail
	}
	// A mailbox on the public internet has a dotted domain; localhost is
	// allowed for development setups.
	if domain := addr[strings.LastIndexByte(addr, '@')+1:]; !strings.Contains(domain, ".") && domain != "localhost" {
		return "", ErrInvalidEmail
	}
	return addr, nil
}

// RequestEmailChange starts a change of u's address to newEmail: the new
// address gets a confirmation link (valid 24 hours) and the old one a
// notice. Nothing changes until the link is followed. It returns
// ErrInvalidEmail for a malformed address and storage.ErrAlreadyExists when
// another account has it; asking for the current address does nothing.
func (h *Handler) RequestEmailChange(ctx context.Context, u storage.User, newEmail string) error {
	addr, err := NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	u, err = h.store.GetUser(ctx, u.ID)
	if err != nil {
		return err
	}
	if strings.EqualFold(u.Email, addr) {
		return nil
	}
	switch _, err := h.store.GetUserByEmail(ctx, addr); {
	case err == nil:
		return storage.ErrAlreadyExists
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	token, err := h.issue(ctx, kindEmail, u, addr)
	if err != nil {
		return err
	}
	d := gmail.Data{
		Name: u.Name, Email: u.Email, OldEmail: u.Email, NewEmail: addr,
		Link: h.linkURL(kindEmail, token), ValidFor: validFor(kindEmail),
	}
	if err := h.sendErr(ctx, gmail.EmailConfirm, addr, d); err != nil {
		return fmt.Errorf("account: email confirmation: %w", err)
	}
	d.Link = "" // the old mailbox never sees the link
	if err := h.sendErr(ctx, gmail.EmailNotice, u.Email, d); err != nil {
		return fmt.Errorf("account: email-change notice: %w", err)
	}
	return nil
}

// confirmEmail is GET /account/email/confirm?token=: following the link
// from the new mailbox makes the change.
func (h *Handler) confirmEmail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.URL.Query().Get("token")
	rec, state, err := h.peek(ctx, kindEmail, token)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if state == linkValid {
		// Someone else's session in this browser: refuse rather than
		// change an account the signed-in person does not own.
		if uid, _, ok := h.cfg.CurrentUser(r); ok && uid != rec.UserID {
			message(w, http.StatusForbidden, "Another account's link",
				"This link belongs to another account than the one signed in here. Sign out, then open the link again.", "", "")
			return
		}
		_, state, err = h.holder(ctx, rec)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	if state != linkValid {
		h.deadEmailLink(w, state)
		return
	}
	if _, err := h.take(ctx, token); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			h.deadEmailLink(w, linkUsed)
			return
		}
		h.serverError(w, r, err)
		return
	}
	now := h.now()
	u, err := h.store.UpdateUser(ctx, rec.UserID, func(u storage.User) (storage.User, error) {
		if !strings.EqualFold(u.Email, rec.AccountEmail) {
			return u, errStale
		}
		u.Email = rec.Email
		u.UpdatedAt = now
		return u, nil
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		message(w, http.StatusConflict, "Address taken",
			"Another account started using "+rec.Email+" in the meantime, so the address was not changed. Ask your administrator.", "", "")
		return
	case errors.Is(err, errStale):
		h.deadEmailLink(w, linkStale)
		return
	case errors.Is(err, storage.ErrNotFound):
		h.deadEmailLink(w, linkUnknown)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	h.audit(ctx, r, u, "user.email_change", map[string]any{"old": rec.AccountEmail, "new": rec.Email})
	if h.cfg.EmailConfirmed != nil {
		h.cfg.EmailConfirmed(ctx, u.ID, rec.AccountEmail, rec.Email)
	}
	message(w, http.StatusOK, "Address confirmed",
		"Your sign-in address is now "+u.Email+".", "Sign in", signInURL(u.Email))
}

func (h *Handler) deadEmailLink(w http.ResponseWriter, state linkState) {
	switch state {
	case linkMalformed:
		message(w, http.StatusBadRequest, "Link not valid",
			"This confirmation link is incomplete or malformed (token). Copy the whole link from the mail.", "", "")
	case linkUnknown:
		message(w, http.StatusBadRequest, "Link not valid", "This confirmation link is not valid.", "", "")
	case linkExpired:
		message(w, http.StatusGone, "Link expired",
			"This confirmation link has expired: links are valid for 24 hours. Ask your administrator to request the change again.", "", "")
	case linkRefused:
		message(w, http.StatusForbidden, "Change not available", "This account is not active. Ask your administrator.", "", "")
	default:
		message(w, http.StatusGone, "Link already used",
			"This confirmation link was already used, a newer one replaced it, or the account's address changed since it was sent.", "", "")
	}
}
