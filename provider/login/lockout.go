package login

import (
	"context"
	"errors"
	"time"

	"gatehouse/storage"
)

// LockoutKey is the ephemeral counter of a user's consecutive failed
// sign-ins. Whatever unlocks an account (an admin, a password reset) must
// delete it too, or the next failure would lock the account again at once;
// ResetLockout does both.
func LockoutKey(userID string) string { return "lockout:" + userID }

// countFailure counts a failed sign-in (a wrong password; the second-factor
// step counts wrong codes the same way) and locks the account durably when
// the count reaches the threshold. The counter is atomic on every backend,
// so concurrent failures lock at exactly the threshold: the request that
// gets the threshold's number (and any racing past it) sets LockedUntil.
func (s *Service) countFailure(ctx context.Context, userID string) (locked bool, err error) {
	n, err := s.eph.Incr(ctx, LockoutKey(userID), lockoutCounterTTL)
	if err != nil {
		return false, err
	}
	if n < int64(s.cfg.LockoutThreshold) {
		return false, nil
	}
	now := s.now()
	until := lockedForever
	if s.cfg.LockoutDuration > 0 {
		until = now.Add(s.cfg.LockoutDuration)
	}
	_, err = s.dir.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
		if u.Locked(now) {
			return u, errUnchanged
		}
		u.LockedUntil = until
		return u, nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return false, err
	}
	if err == nil {
		s.log.Info("login: account locked after failed sign-ins", "user", userID, "failures", n, "until", until)
	}
	return true, nil
}

// CountFailure is countFailure for steps in other packages (a wrong
// second-factor code counts toward the lockout like a wrong password).
func (t *Turn) CountFailure(ctx context.Context) (locked bool, err error) {
	return t.s.countFailure(ctx, t.Flow.UserID)
}

// ResetLockout unlocks a user and forgets their failed sign-ins: for an
// admin's unlock and a completed password reset.
func (s *Service) ResetLockout(ctx context.Context, userID string) error {
	if err := s.eph.Delete(ctx, LockoutKey(userID)); err != nil {
		return err
	}
	_, err := s.dir.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
		if u.LockedUntil.IsZero() {
			return u, errUnchanged
		}
		u.LockedUntil = timeZero
		return u, nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

var timeZero = time.Time{}
