package conformance

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/storage"
)

func durableToken(sig, family, user, session string) storage.RefreshToken {
	return storage.RefreshToken{
		Signature: sig, FamilyID: family, ClientID: "app", UserID: user, SessionID: session,
		Data: []byte(`{"request":"` + sig + `"}`), Active: true,
		ExpiresAt: durableT0.Add(30 * 24 * time.Hour), CreatedAt: durableT0,
	}
}

func durableMkToken(t *testing.T, s storage.Store, tok storage.RefreshToken) {
	t.Helper()
	durableOK(t, s.CreateRefreshToken(durableCtx(t), tok), "CreateRefreshToken(%s)", tok.Signature)
}

func durableRefreshTokens(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	tok := durableToken("sig-1", "fam-1", "u1", "sess-1")
	durableMkToken(t, s, tok)
	got, err := s.GetRefreshToken(ctx, "sig-1")
	durableOK(t, err, "GetRefreshToken")
	durableSame(t, got, tok, "GetRefreshToken round trip")
	durableErrIs(t, s.CreateRefreshToken(ctx, tok), storage.ErrAlreadyExists, "CreateRefreshToken twice")
	_, err = s.GetRefreshToken(ctx, "nobody")
	durableErrIs(t, err, storage.ErrNotFound, "GetRefreshToken(unknown)")

	durableOK(t, s.RevokeRefreshToken(ctx, "sig-1"), "RevokeRefreshToken")
	got, err = s.GetRefreshToken(ctx, "sig-1")
	durableOK(t, err, "GetRefreshToken after revoke")
	if got.Active {
		t.Fatal("RevokeRefreshToken left the token active")
	}
	durableOK(t, s.RevokeRefreshToken(ctx, "sig-1"), "RevokeRefreshToken on a revoked token")
	durableErrIs(t, s.RevokeRefreshToken(ctx, "nobody"), storage.ErrNotFound, "RevokeRefreshToken(unknown)")
}

func durableRefreshUse(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkToken(t, s, durableToken("sig-1", "fam-1", "u1", "sess-1"))
	durableMkToken(t, s, durableToken("sig-2", "fam-1", "u1", "sess-1"))

	at := durableT0.Add(time.Hour)
	used, err := s.UseRefreshToken(ctx, "sig-1", at)
	durableOK(t, err, "UseRefreshToken")
	if used.Signature != "sig-1" || used.FamilyID != "fam-1" || !used.Active {
		t.Fatalf("UseRefreshToken returned %+v", used)
	}
	durableSame(t, used.UsedAt, at, "UseRefreshToken returns the use time")
	got, err := s.GetRefreshToken(ctx, "sig-1")
	durableOK(t, err, "GetRefreshToken after use")
	durableSame(t, got, used, "GetRefreshToken returns what UseRefreshToken returned")

	_, err = s.UseRefreshToken(ctx, "sig-1", at.Add(time.Minute))
	durableErrIs(t, err, storage.ErrConflict, "UseRefreshToken on a used token")
	got, err = s.GetRefreshToken(ctx, "sig-1")
	durableOK(t, err, "GetRefreshToken after reuse")
	durableSame(t, got.UsedAt, at, "a refused use keeps the first use time")

	durableOK(t, s.RevokeRefreshToken(ctx, "sig-2"), "RevokeRefreshToken")
	_, err = s.UseRefreshToken(ctx, "sig-2", at)
	durableErrIs(t, err, storage.ErrConflict, "UseRefreshToken on a revoked token")
	_, err = s.UseRefreshToken(ctx, "nobody", at)
	durableErrIs(t, err, storage.ErrNotFound, "UseRefreshToken(unknown)")
}

func durableRefreshUseConcurrent(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkToken(t, s, durableToken("sig-1", "fam-1", "u1", "sess-1"))

	errs := durableRace(func(i int) error {
		_, err := s.UseRefreshToken(ctx, "sig-1", durableT0.Add(time.Duration(i)*time.Second))
		return err
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrConflict):
			t.Fatalf("UseRefreshToken #%d: %v, want nil or ErrConflict", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d racing UseRefreshToken calls won, want exactly 1", wins, durableRacers)
	}
}

func durableRefreshRevoke(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	// Family A: three tokens of user 1 in session 1, one already revoked.
	// Family B: two tokens of user 1 in session 2. Family C: user 2.
	for i := range 3 {
		durableMkToken(t, s, durableToken(fmt.Sprintf("a%d", i), "fam-a", "u1", "sess-1"))
	}
	durableOK(t, s.RevokeRefreshToken(ctx, "a0"), "RevokeRefreshToken(a0)")
	for i := range 2 {
		durableMkToken(t, s, durableToken(fmt.Sprintf("b%d", i), "fam-b", "u1", "sess-2"))
	}
	durableMkToken(t, s, durableToken("c0", "fam-c", "u2", "sess-3"))

	count := func(what string, n int, err error, want int) {
		t.Helper()
		durableOK(t, err, "%s", what)
		if n != want {
			t.Fatalf("%s changed %d tokens, want %d", what, n, want)
		}
	}
	n, err := s.RevokeRefreshFamily(ctx, "fam-a")
	count("RevokeRefreshFamily(fam-a)", n, err, 2)
	n, err = s.RevokeRefreshFamily(ctx, "fam-a")
	count("RevokeRefreshFamily(fam-a) again", n, err, 0)
	n, err = s.RevokeRefreshTokensOfSession(ctx, "sess-2")
	count("RevokeRefreshTokensOfSession(sess-2)", n, err, 2)
	n, err = s.RevokeRefreshTokensOfUser(ctx, "u1")
	count("RevokeRefreshTokensOfUser(u1) with all revoked", n, err, 0)
	n, err = s.RevokeRefreshFamily(ctx, "nobody")
	count("RevokeRefreshFamily(unknown)", n, err, 0)

	got, err := s.GetRefreshToken(ctx, "c0")
	durableOK(t, err, "GetRefreshToken(c0)")
	if !got.Active {
		t.Fatal("revoking user 1's tokens revoked user 2's")
	}
	n, err = s.RevokeRefreshTokensOfUser(ctx, "u2")
	count("RevokeRefreshTokensOfUser(u2)", n, err, 1)
	_, err = s.UseRefreshToken(ctx, "c0", durableT0)
	durableErrIs(t, err, storage.ErrConflict, "UseRefreshToken after the user's tokens were revoked")
}

func durableRefreshExpired(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	cutoff := durableT0.Add(48 * time.Hour)
	for i, d := range []time.Duration{-time.Hour, -time.Microsecond, 0, time.Hour} {
		tok := durableToken(fmt.Sprintf("t%d", i), "fam", "u1", "sess")
		tok.ExpiresAt = cutoff.Add(d)
		durableMkToken(t, s, tok)
	}
	n, err := s.DeleteExpiredRefreshTokens(ctx, cutoff)
	durableOK(t, err, "DeleteExpiredRefreshTokens")
	if n != 2 {
		t.Fatalf("DeleteExpiredRefreshTokens removed %d tokens, want the 2 that expired before the cutoff", n)
	}
	for i, want := range []error{storage.ErrNotFound, storage.ErrNotFound, nil, nil} {
		_, err := s.GetRefreshToken(ctx, fmt.Sprintf("t%d", i))
		if !errors.Is(err, want) {
			t.Fatalf("GetRefreshToken(t%d) after cleanup: %v, want %v", i, err, want)
		}
	}
	n, err = s.DeleteExpiredRefreshTokens(ctx, cutoff)
	durableOK(t, err, "DeleteExpiredRefreshTokens again")
	if n != 0 {
		t.Fatalf("a second cleanup removed %d", n)
	}
}
