package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// Kinds of one-time link, and how long each lives.
const (
	kindInvite = "invite"
	kindReset  = "reset"
	kindEmail  = "email"

	InviteTTL = 72 * time.Hour
	ResetTTL  = time.Hour
	EmailTTL  = 24 * time.Hour

	// spentTTL is how long a link is remembered after it was used or
	// expired, so its page can say which, and offer a new invitation.
	spentTTL = 30 * 24 * time.Hour

	tokenBytes = 32
	tokenLen   = 43 // base64url of 32 bytes, unpadded
)

func ttlOf(kind string) time.Duration {
	switch kind {
	case kindInvite:
		return InviteTTL
	case kindReset:
		return ResetTTL
	}
	return EmailTTL
}

// validFor says a link's lifetime in words, for mail.
func validFor(kind string) string {
	switch kind {
	case kindInvite:
		return "72 hours"
	case kindReset:
		return "1 hour"
	}
	return "24 hours"
}

// link is what the ephemeral store keeps for a one-time link, under
//
//	link:HASH            the live link, until it expires or is used
//	link-spent:HASH      the same record for spentTTL, outliving the link
//	link-user:KIND:USER  HASH of the user's newest link of that kind
//
// where HASH is the hex SHA-256 of the token. A user has at most one live
// link of each kind: issuing a new one kills the previous one.
type link struct {
	Kind   string `json:"kind"`
	UserID string `json:"user_id"`
	// AccountEmail is the user's address when the link was issued; the
	// link dies if it changes (it went to the old mailbox).
	AccountEmail string `json:"account_email"`
	// Email is the new address of an email change.
	Email string `json:"email,omitempty"`
	// PasswordChangedAt at issue: an invitation or reset link dies once the
	// password changes by any path.
	PasswordChangedAt time.Time `json:"password_changed_at"`
	IssuedAt          time.Time `json:"issued_at"`
	ExpiresAt         time.Time `json:"expires_at"`
}

func linkKey(hash string) string             { return "link:" + hash }
func spentKey(hash string) string            { return "link-spent:" + hash }
func userLinkKey(kind, userID string) string { return "link-user:" + kind + ":" + userID }

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormed checks a token's shape before it costs a store lookup.
func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// linkURL is the address a link's mail carries.
func (h *Handler) linkURL(kind, token string) string {
	switch kind {
	case kindInvite:
		return h.issuer + "/invite?token=" + token
	case kindReset:
		return h.issuer + "/login/reset?token=" + token
	}
	return h.issuer + "/account/email/confirm?token=" + token
}

// issue makes a link of kind for u (as stored now) and returns its token.
// newEmail is the address of an email change.
func (h *Handler) issue(ctx context.Context, kind string, u storage.User, newEmail string) (string, error) {
	now := h.now()
	rec := link{
		Kind:              kind,
		UserID:            u.ID,
		AccountEmail:      strings.ToLower(u.Email),
		Email:             newEmail,
		PasswordChangedAt: u.PasswordChangedAt,
		IssuedAt:          now,
		ExpiresAt:         now.Add(ttlOf(kind)),
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	token := web.RandomToken(tokenBytes)
	hash := tokenHash(token)

	// The previous link of this kind dies; its spent record stays, so its
	// page still says what happened.
	if old, err := h.eph.Take(ctx, userLinkKey(kind, u.ID)); err == nil {
		if err := h.eph.Delete(ctx, linkKey(string(old))); err != nil {
			return "", err
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	ttl := ttlOf(kind)
	if err := h.eph.Set(ctx, spentKey(hash), b, spentTTL); err != nil {
		return "", err
	}
	if err := h.eph.Set(ctx, linkKey(hash), b, ttl); err != nil {
		return "", err
	}
	if err := h.eph.Set(ctx, userLinkKey(kind, u.ID), []byte(hash), ttl); err != nil {
		return "", err
	}
	return token, nil
}

// linkState is what a presented token turned out to be.
type linkState int

const (
	linkValid     linkState = iota
	linkMalformed           // not even shaped like a token
	linkUnknown             // never issued, tampered with, or long forgotten
	linkExpired             // issued, and its time ran out
	linkUsed                // issued, and used or replaced by a newer link
	linkStale               // the password or address changed since it was issued
	linkRefused             // the account may not use it (inactive, SSO, reset disabled)
)

// peek reads a link of kind without using it up. For any state but
// linkMalformed and linkUnknown it returns the record, so pages can say
// more (and offer a new invitation).
func (h *Handler) peek(ctx context.Context, kind, token string) (link, linkState, error) {
	if !wellFormed(token) {
		return link{}, linkMalformed, nil
	}
	hash := tokenHash(token)
	live := true
	b, err := h.eph.Get(ctx, linkKey(hash))
	if errors.Is(err, storage.ErrNotFound) {
		live = false
		b, err = h.eph.Get(ctx, spentKey(hash))
	}
	if errors.Is(err, storage.ErrNotFound) {
		return link{}, linkUnknown, nil
	}
	if err != nil {
		return link{}, 0, err
	}
	var rec link
	if err := json.Unmarshal(b, &rec); err != nil || rec.Kind != kind {
		// A reset token at /invite, say: as good as unknown here.
		return link{}, linkUnknown, nil
	}
	switch {
	case !h.now().Before(rec.ExpiresAt):
		// Checked here as well as by the store's TTL, so the answer does
		// not depend on the store's clock.
		return rec, linkExpired, nil
	case !live:
		return rec, linkUsed, nil
	}
	return rec, linkValid, nil
}

// take uses a link up: of several concurrent callers, exactly one gets it.
func (h *Handler) take(ctx context.Context, token string) (link, error) {
	hash := tokenHash(token)
	b, err := h.eph.Take(ctx, linkKey(hash))
	if err != nil {
		return link{}, err
	}
	var rec link
	if err := json.Unmarshal(b, &rec); err != nil {
		return link{}, fmt.Errorf("account: stored link unreadable: %w", err)
	}
	if cur, err := h.eph.Get(ctx, userLinkKey(rec.Kind, rec.UserID)); err == nil && string(cur) == hash {
		_ = h.eph.Delete(ctx, userLinkKey(rec.Kind, rec.UserID))
	}
	return rec, nil
}

// holder loads the user a link belongs to and checks the link still fits
// them: same address, same password (for invitations and resets), and an
// account allowed to use it.
func (h *Handler) holder(ctx context.Context, rec link) (storage.User, linkState, error) {
	u, err := h.store.GetUser(ctx, rec.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, linkUnknown, nil
	}
	if err != nil {
		return storage.User{}, 0, err
	}
	if !strings.EqualFold(u.Email, rec.AccountEmail) {
		return u, linkStale, nil
	}
	if rec.Kind != kindEmail && !sameInstant(u.PasswordChangedAt, rec.PasswordChangedAt) {
		return u, linkStale, nil
	}
	if !u.Active || (rec.Kind != kindEmail && u.SSO) || (rec.Kind == kindReset && u.PasswordResetDisabled) {
		return u, linkRefused, nil
	}
	return u, linkValid, nil
}

// sameInstant compares times as a store keeps them (microseconds at best).
func sameInstant(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// liveLink reads a link a page was opened or posted with and its holder.
// When either is gone, spent or stale, it has already answered with the
// dead-link page (or a server error) and reports false.
func (h *Handler) liveLink(w http.ResponseWriter, r *http.Request, kind, token string) (link, storage.User, bool) {
	ctx := r.Context()
	rec, state, err := h.peek(ctx, kind, token)
	if err != nil {
		h.serverError(w, r, err)
		return link{}, storage.User{}, false
	}
	var u storage.User
	if state == linkValid {
		if u, state, err = h.holder(ctx, rec); err != nil {
			h.serverError(w, r, err)
			return link{}, storage.User{}, false
		}
	}
	if state != linkValid {
		h.deadLink(w, r, kind, token, rec, state)
		return link{}, storage.User{}, false
	}
	return rec, u, true
}
