package oidc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/storage"
)

// Housekeeping deletes the refresh tokens that expired and keeps the rest,
// sweep after sweep, and stops with its context.
func TestHousekeepDeletesExpiredRefreshTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	mk := func(sig string, expires time.Time) {
		t.Helper()
		must(t, e.store.CreateRefreshToken(ctx, storage.RefreshToken{Signature: sig, FamilyID: "fam-" + sig, ClientID: "academy",
			UserID: "u-olivia", SessionID: "s1", Data: []byte("{}"), Active: true, ExpiresAt: expires, CreatedAt: now.Add(-48 * time.Hour)}))
	}
	mk("expired-day", now.Add(-24*time.Hour))
	mk("expired-minute", now.Add(-time.Minute))
	mk("live", now.Add(time.Hour))

	ticks := make(chan time.Time)
	waiting := make(chan struct{})
	loopCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The loop asks for its next wait only after a sweep has finished.
		e.p.HousekeepEvery(loopCtx, func() <-chan time.Time {
			waiting <- struct{}{}
			return ticks
		})
	}()
	sweep := func() {
		t.Helper()
		ticks <- time.Now()
		<-waiting
	}
	gone := func(sig string) bool {
		t.Helper()
		_, err := e.store.GetRefreshToken(ctx, sig)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err != nil
	}

	<-waiting
	if gone("expired-day") || gone("live") {
		t.Fatal("tokens deleted before the first sweep")
	}
	sweep()
	if !gone("expired-day") || !gone("expired-minute") {
		t.Error("expired refresh tokens survived a sweep")
	}
	if gone("live") {
		t.Error("a live refresh token was deleted")
	}
	// A sweep with nothing to delete, then a token that expired since.
	sweep()
	mk("expired-later", now.Add(-time.Second))
	sweep()
	if !gone("expired-later") || gone("live") {
		t.Error("second round: wrong tokens deleted")
	}

	stop()
	<-done
}
