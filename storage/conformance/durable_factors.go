package conformance

import (
	"errors"
	"sort"
	"testing"
	"time"

	"gatehouse/storage"
)

func durableFactor(userID, id string, kind storage.FactorKind) storage.Factor {
	return storage.Factor{
		ID: id, UserID: userID, Kind: kind, Name: "factor " + id, Secret: []byte("secret-" + id),
		Counter: 7, CreatedAt: durableT0, LastUsedAt: durableT0.Add(time.Minute),
	}
}

func durableFactors(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkUser(t, s, durableUser("acme", "u1", "u1@acme.example"))
	durableMkUser(t, s, durableUser("acme", "u2", "u2@acme.example"))

	totp := durableFactor("u1", "totp", storage.FactorTOTP)
	totp.LastUsedAt = time.Time{}
	webauthn := durableFactor("u1", "key", storage.FactorWebAuthn)
	webauthn.CreatedAt = durableT0.Add(time.Second)
	webauthn.Counter = 4294967295 // the largest sign counter
	var codes []storage.Factor
	for i, id := range []string{"rc1", "rc2", "rc3"} {
		f := durableFactor("u1", id, storage.FactorRecovery)
		f.CreatedAt = durableT0.Add(time.Duration(2+i) * time.Second)
		codes = append(codes, f)
	}
	for _, f := range append([]storage.Factor{totp, webauthn}, codes...) {
		durableOK(t, s.CreateFactor(ctx, f), "CreateFactor(%s)", f.ID)
	}
	durableOK(t, s.CreateFactor(ctx, durableFactor("u2", "other", storage.FactorTOTP)), "CreateFactor(u2)")
	durableErrIs(t, s.CreateFactor(ctx, totp), storage.ErrAlreadyExists, "CreateFactor twice")
	if err := s.CreateFactor(ctx, durableFactor("nobody", "orphan", storage.FactorTOTP)); err == nil {
		t.Fatal("CreateFactor for an unknown user succeeded")
	}

	got, err := s.ListFactors(ctx, "u1")
	durableOK(t, err, "ListFactors")
	sort.Slice(got, func(i, j int) bool { return got[i].CreatedAt.Before(got[j].CreatedAt) })
	durableSame(t, got, append([]storage.Factor{totp, webauthn}, codes...), "ListFactors round trip")

	used := durableT0.Add(time.Hour)
	updated, err := s.UpdateFactor(ctx, "key", func(f storage.Factor) (storage.Factor, error) {
		f.Counter, f.LastUsedAt, f.Name = 12, used, "YubiKey"
		return f, nil
	})
	durableOK(t, err, "UpdateFactor")
	if updated.Counter != 12 || !updated.LastUsedAt.Equal(used) || updated.Name != "YubiKey" {
		t.Fatalf("UpdateFactor returned %+v", updated)
	}
	_, err = s.UpdateFactor(ctx, "nobody", func(f storage.Factor) (storage.Factor, error) { return f, nil })
	durableErrIs(t, err, storage.ErrNotFound, "UpdateFactor(unknown)")

	durableOK(t, s.DeleteFactor(ctx, "rc1"), "DeleteFactor")
	durableErrIs(t, s.DeleteFactor(ctx, "rc1"), storage.ErrNotFound, "DeleteFactor twice")

	n, err := s.DeleteFactors(ctx, "u1", storage.FactorRecovery, storage.FactorSMS)
	durableOK(t, err, "DeleteFactors(recovery, sms)")
	if n != 2 {
		t.Fatalf("DeleteFactors(recovery, sms) = %d, want 2", n)
	}
	got, err = s.ListFactors(ctx, "u1")
	durableOK(t, err, "ListFactors")
	if len(got) != 2 {
		t.Fatalf("after deleting recovery codes %d factors remain, want 2", len(got))
	}
	n, err = s.DeleteFactors(ctx, "u1")
	durableOK(t, err, "DeleteFactors(all)")
	if n != 2 {
		t.Fatalf("DeleteFactors(all) = %d, want 2", n)
	}
	n, err = s.DeleteFactors(ctx, "u1")
	durableOK(t, err, "DeleteFactors(none left)")
	if n != 0 {
		t.Fatalf("DeleteFactors with none left = %d", n)
	}
	got, err = s.ListFactors(ctx, "u2")
	durableOK(t, err, "ListFactors(u2)")
	if len(got) != 1 {
		t.Fatalf("another user's factors went: %+v", got)
	}
}

// ListFactorKinds answers for many users at once: each user's distinct
// kinds, no entry for a user without factors or unknown, and lists longer
// than one query's worth.
func durableFactorKinds(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	ids := durableMkUsers(t, s, 600)
	durableOK(t, s.CreateFactor(ctx, durableFactor(ids[0], "t0", storage.FactorTOTP)), "CreateFactor")
	durableOK(t, s.CreateFactor(ctx, durableFactor(ids[0], "w0", storage.FactorWebAuthn)), "CreateFactor")
	for i, id := range []string{"r1", "r2", "r3"} {
		f := durableFactor(ids[0], id, storage.FactorRecovery)
		f.CreatedAt = durableT0.Add(time.Duration(i) * time.Second)
		durableOK(t, s.CreateFactor(ctx, f), "CreateFactor(%s)", id)
	}
	durableOK(t, s.CreateFactor(ctx, durableFactor(ids[2], "s2", storage.FactorSMS)), "CreateFactor")
	// Past the first 512 ids, so a backend that splits the list must still
	// answer for the tail.
	durableOK(t, s.CreateFactor(ctx, durableFactor(ids[599], "t599", storage.FactorTOTP)), "CreateFactor")

	sorted := func(m map[string][]storage.FactorKind) map[string][]storage.FactorKind {
		for _, ks := range m {
			sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
		}
		return m
	}
	got, err := s.ListFactorKinds(ctx, ids)
	durableOK(t, err, "ListFactorKinds(600 users)")
	durableSame(t, sorted(got), map[string][]storage.FactorKind{
		ids[0]:   {storage.FactorRecovery, storage.FactorTOTP, storage.FactorWebAuthn},
		ids[2]:   {storage.FactorSMS},
		ids[599]: {storage.FactorTOTP},
	}, "ListFactorKinds(600 users)")

	got, err = s.ListFactorKinds(ctx, []string{ids[2], "nobody", ids[1]})
	durableOK(t, err, "ListFactorKinds(three)")
	durableSame(t, got, map[string][]storage.FactorKind{ids[2]: {storage.FactorSMS}}, "ListFactorKinds(three)")

	got, err = s.ListFactorKinds(ctx, nil)
	durableOK(t, err, "ListFactorKinds(none)")
	if len(got) != 0 {
		t.Fatalf("ListFactorKinds(none) = %v", got)
	}
}

// A recovery code is consumed by deleting it: of racing callers exactly
// one may succeed.
func durableFactorDeleteOnce(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkUser(t, s, durableUser("acme", "u1", "u1@acme.example"))
	durableOK(t, s.CreateFactor(ctx, durableFactor("u1", "rc", storage.FactorRecovery)), "CreateFactor")

	errs := durableRace(func(int) error { return s.DeleteFactor(ctx, "rc") })
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrNotFound):
			t.Fatalf("DeleteFactor #%d: %v, want nil or ErrNotFound", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d racing DeleteFactor calls succeeded, want exactly 1", wins, durableRacers)
	}
}

func durableFactorUpdateConcurrent(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkUser(t, s, durableUser("acme", "u1", "u1@acme.example"))
	f := durableFactor("u1", "key", storage.FactorWebAuthn)
	f.Counter = 0
	durableOK(t, s.CreateFactor(ctx, f), "CreateFactor")

	errs := durableRace(func(int) error {
		_, err := s.UpdateFactor(ctx, "key", func(f storage.Factor) (storage.Factor, error) {
			f.Counter++
			return f, nil
		})
		return err
	})
	for i, err := range errs {
		durableOK(t, err, "UpdateFactor #%d", i)
	}
	got, err := s.ListFactors(ctx, "u1")
	durableOK(t, err, "ListFactors")
	if len(got) != 1 || got[0].Counter != durableRacers {
		t.Fatalf("counter after %d concurrent increments: %+v", durableRacers, got)
	}
}

func durableConsents(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkUser(t, s, durableUser("acme", "u1", "u1@acme.example"))

	_, err := s.GetConsent(ctx, "u1", "app")
	durableErrIs(t, err, storage.ErrNotFound, "GetConsent before any")
	c := storage.Consent{UserID: "u1", ClientID: "app", Scopes: []string{"openid", "email"}, GrantedAt: durableT0}
	durableOK(t, s.PutConsent(ctx, c), "PutConsent")
	got, err := s.GetConsent(ctx, "u1", "app")
	durableOK(t, err, "GetConsent")
	durableSame(t, got, c, "GetConsent round trip")

	c.Scopes, c.GrantedAt = []string{"openid", "email", "profile"}, durableT0.Add(time.Hour)
	durableOK(t, s.PutConsent(ctx, c), "PutConsent again")
	got, err = s.GetConsent(ctx, "u1", "app")
	durableOK(t, err, "GetConsent after replace")
	durableSame(t, got, c, "PutConsent replaces")

	_, err = s.GetConsent(ctx, "u1", "other-app")
	durableErrIs(t, err, storage.ErrNotFound, "GetConsent for another client")
}
