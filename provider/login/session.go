package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"gatehouse/storage"
)

// The SSO session lives in the ephemeral store:
//
//	session:ID          the sessionRecord, JSON, until it expires
//	user-sessions:USER  set of the user's session IDs (to end them all)
//	session-rps:ID      set of Participant JSON (to tell them at the end)
//
// The browser's cookie holds ID.SECRET. The ID is public: it goes to relying
// parties as the OIDC sid and SAML SessionIndex. The secret never leaves the
// browser and Gatehouse keeps only its SHA-256, so neither a relying party
// nor a reader of the store can present the cookie.
type sessionRecord struct {
	Session
	SecretHash string `json:"secret_hash"`
}

func sessionKey(id string) string       { return "session:" + id }
func userSessionsKey(uid string) string { return "user-sessions:" + uid }
func participantsKey(id string) string  { return "session-rps:" + id }

const (
	sessionIDLen     = 24
	sessionSecretLen = 32
)

// SessionEndHandler is told about every session that ends (logout, a user
// deleted, deactivated or given a new password), with the relying parties
// that took part, so it can tell them (back-channel logout, SAML SLO) and
// revoke what they hold. It runs in the request that ended the session:
// do slow work, such as calling relying parties, in the background.
type SessionEndHandler interface {
	SessionEnded(ctx context.Context, s Session, parts []Participant)
}

// OnSessionEnd registers h for every session that ends from now on.
func (s *Service) OnSessionEnd(h SessionEndHandler) {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	s.onEnd = append(s.onEnd, h)
}

// Current returns the browser's SSO session, if its cookie names one that
// is still valid. It costs one ephemeral-store read.
func (s *Service) Current(r *http.Request) (*Session, bool) {
	rec, err := s.currentRecord(r.Context(), r)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("login: reading the SSO session", "err", err)
		}
		return nil, false
	}
	sess := rec.Session
	return &sess, true
}

// currentRecord reads the session the cookie names; storage.ErrNotFound
// when there is none (no cookie, a bad secret, ended or expired).
func (s *Service) currentRecord(ctx context.Context, r *http.Request) (*sessionRecord, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, storage.ErrNotFound
	}
	id, secret, ok := strings.Cut(c.Value, ".")
	if !ok || !validID(id) || !validID(secret) {
		return nil, storage.ErrNotFound
	}
	rec, err := s.readSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(rec.SecretHash)) != 1 {
		return nil, storage.ErrNotFound
	}
	return rec, nil
}

func (s *Service) readSession(ctx context.Context, id string) (*sessionRecord, error) {
	b, err := s.eph.Get(ctx, sessionKey(id))
	if err != nil {
		return nil, err
	}
	var rec sessionRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("login: stored session: %w", err)
	}
	if !s.now().Before(rec.ExpiresAt) {
		return nil, storage.ErrNotFound
	}
	return &rec, nil
}

// GetSession returns a session by ID; storage.ErrNotFound once it ended or
// expired.
func (s *Service) GetSession(ctx context.Context, id string) (*Session, error) {
	if !validID(id) {
		return nil, storage.ErrNotFound
	}
	rec, err := s.readSession(ctx, id)
	if err != nil {
		return nil, err
	}
	sess := rec.Session
	return &sess, nil
}

// Join records that a relying party received this session's identity, so
// that ending the session tells it. Joining twice with the same
// Participant records it once.
func (s *Service) Join(ctx context.Context, sessionID string, p Participant) error {
	if !validID(sessionID) {
		return storage.ErrNotFound
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	// The set outlives its session by at most one SessionTTL, and only if
	// the session expires rather than ends; that spares a read here.
	return s.eph.SAdd(ctx, participantsKey(sessionID), s.cfg.SessionTTL, string(b))
}

// Participants returns the relying parties recorded in the session.
func (s *Service) Participants(ctx context.Context, sessionID string) ([]Participant, error) {
	if !validID(sessionID) {
		return nil, nil
	}
	members, err := s.eph.SMembers(ctx, participantsKey(sessionID))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	slices.Sort(members)
	parts := make([]Participant, 0, len(members))
	for _, m := range members {
		var p Participant
		if err := json.Unmarshal([]byte(m), &p); err != nil {
			s.log.Warn("login: unreadable session participant", "session", sessionID, "err", err)
			continue
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// EndSession ends a session everywhere: it is gone from the store at once,
// so every node refuses it, and each SessionEndHandler is told once with
// its participants. Ending a session that already ended does nothing.
func (s *Service) EndSession(ctx context.Context, sessionID string) error {
	if !validID(sessionID) {
		return nil
	}
	// Take, not Get and Delete: of two concurrent logouts exactly one
	// tells the handlers.
	b, err := s.eph.Take(ctx, sessionKey(sessionID))
	if errors.Is(err, storage.ErrNotFound) {
		return s.eph.Delete(ctx, participantsKey(sessionID))
	}
	if err != nil {
		return err
	}
	var rec sessionRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("login: stored session: %w", err)
	}
	parts, err := s.Participants(ctx, sessionID)
	if err != nil {
		return err
	}
	if err := s.eph.Delete(ctx, participantsKey(sessionID)); err != nil {
		return err
	}
	if err := s.eph.SRem(ctx, userSessionsKey(rec.UserID), sessionID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	s.endMu.RLock()
	handlers := slices.Clone(s.onEnd)
	s.endMu.RUnlock()
	for _, h := range handlers {
		h.SessionEnded(ctx, rec.Session, parts)
	}
	return nil
}

// EndUserSessions ends every session of a user but exceptSessionID (the
// one making the change, or "" for all): for a user deleted, deactivated,
// or given a new password.
func (s *Service) EndUserSessions(ctx context.Context, userID, exceptSessionID string) error {
	ids, err := s.eph.SMembers(ctx, userSessionsKey(userID))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var first error
	for _, id := range ids {
		if id == exceptSessionID {
			continue
		}
		if err := s.EndSession(ctx, id); err != nil && first == nil {
			first = err
		}
		// Expired sessions leave their ID behind; drop it.
		if err := s.eph.SRem(ctx, userSessionsKey(userID), id); err != nil && first == nil && !errors.Is(err, storage.ErrNotFound) {
			first = err
		}
	}
	return first
}

// ClearCookie removes the browser's session cookie.
func (s *Service) ClearCookie(w http.ResponseWriter) {
	s.cfg.Secure.SetCookie(w, sessionCookie, "", -1)
}

// establish creates the browser's session, or refreshes the one it has
// for the same user, at the end of a flow. A sign-in as another user ends
// the browser's old session first.
func (s *Service) establish(w http.ResponseWriter, r *http.Request, t *Turn) (*Session, error) {
	ctx := r.Context()
	f := t.Flow
	now := s.now()
	cur := t.session
	if cur == nil {
		var err error
		cur, err = s.currentRecord(ctx, r)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	if cur != nil && cur.UserID == f.UserID {
		changed, extended := false, false
		if f.AuthTime.After(cur.AuthTime) {
			// A fresh interactive sign-in in this flow: it restarts the
			// session's lifetime and sets how the user authenticated.
			cur.AuthTime = f.AuthTime
			cur.AMR = slices.Clone(f.AMR)
			cur.ExpiresAt = now.Add(s.cfg.SessionTTL)
			changed, extended = true, true
		} else if !slices.Equal(cur.AMR, f.AMR) {
			cur.AMR = slices.Clone(f.AMR)
			changed = true
		}
		cur.ACR = ACR(cur.AMR)
		if changed {
			if err := s.writeSession(ctx, cur); err != nil {
				return nil, err
			}
		}
		if extended {
			// The session now lives a full TTL from here: so must the
			// user's set of sessions, or EndUserSessions would miss it.
			if err := s.eph.SAdd(ctx, userSessionsKey(cur.UserID), s.cfg.SessionTTL, cur.ID); err != nil {
				return nil, err
			}
			// Likewise its participants, or ending it would not tell them.
			parts, err := s.eph.SMembers(ctx, participantsKey(cur.ID))
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
			if len(parts) > 0 {
				if err := s.eph.SAdd(ctx, participantsKey(cur.ID), s.cfg.SessionTTL, parts...); err != nil {
					return nil, err
				}
			}
		}
		sess := cur.Session
		return &sess, nil
	}
	if cur != nil {
		if err := s.EndSession(ctx, cur.ID); err != nil {
			return nil, err
		}
	}
	authTime := f.AuthTime
	if authTime.IsZero() {
		authTime = now
	}
	secret := newID(sessionSecretLen)
	rec := &sessionRecord{
		Session: Session{
			ID:        newID(sessionIDLen),
			UserID:    f.UserID,
			AuthTime:  authTime,
			AMR:       slices.Clone(f.AMR),
			ACR:       ACR(f.AMR),
			CreatedAt: now,
			ExpiresAt: now.Add(s.cfg.SessionTTL),
		},
		SecretHash: hashSecret(secret),
	}
	if err := s.writeSession(ctx, rec); err != nil {
		return nil, err
	}
	if err := s.eph.SAdd(ctx, userSessionsKey(rec.UserID), s.cfg.SessionTTL, rec.ID); err != nil {
		return nil, err
	}
	s.cfg.Secure.SetCookie(w, sessionCookie, rec.ID+"."+secret, 0)
	replaceCookie(r, sessionCookie, rec.ID+"."+secret)
	sess := rec.Session
	return &sess, nil
}

func (s *Service) writeSession(ctx context.Context, rec *sessionRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.eph.Set(ctx, sessionKey(rec.ID), b, remaining(rec.ExpiresAt, s.now()))
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
