package conformance

import (
	"errors"
	"testing"

	"gatehouse/storage"
)

func durableTxCommit(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	err := s.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreatePartner(ctx, durablePartner("acme")); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, durableUser("acme", "u1", "u1@acme.example")); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.GetUser(ctx, "u1"); err != nil {
			return err
		}
		_, err := tx.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
			u.Role = "owner"
			return u, nil
		})
		return err
	})
	durableOK(t, err, "InTx")
	got, err := s.GetUser(ctx, "u1")
	durableOK(t, err, "GetUser after commit")
	if got.Role != "owner" {
		t.Fatalf("committed update lost: role %q", got.Role)
	}
	_, err = s.GetPartner(ctx, "acme")
	durableOK(t, err, "GetPartner after commit")
}

func durableTxRollback(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkUser(t, s, durableUser("acme", "u0", "u0@acme.example"))
	boom := errors.New("seed refused")

	err := s.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreateUser(ctx, durableUser("acme", "u1", "u1@acme.example")); err != nil {
			return err
		}
		if _, err := tx.UpdateUser(ctx, "u0", func(u storage.User) (storage.User, error) {
			u.Role = "owner"
			return u, nil
		}); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, durableEvent("acme", "ev", durableT0)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	_, err = s.GetUser(ctx, "u1")
	durableErrIs(t, err, storage.ErrNotFound, "user created in a rolled-back transaction")
	got, err := s.GetUser(ctx, "u0")
	durableOK(t, err, "GetUser(u0)")
	if got.Role != "admin" {
		t.Fatalf("update in a rolled-back transaction landed: role %q", got.Role)
	}
	events, _, err := s.ListAudit(ctx, "acme", storage.Page{})
	durableOK(t, err, "ListAudit")
	if len(events) != 0 {
		t.Fatalf("audit event of a rolled-back transaction landed: %+v", events)
	}

	// A failed write inside the transaction rolls back the writes before it.
	err = s.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreateUser(ctx, durableUser("acme", "u2", "u2@acme.example")); err != nil {
			return err
		}
		return tx.CreateUser(ctx, durableUser("acme", "u3", "u0@acme.example"))
	})
	durableErrIs(t, err, storage.ErrAlreadyExists, "InTx with a duplicate email")
	_, err = s.GetUser(ctx, "u2")
	durableErrIs(t, err, storage.ErrNotFound, "user created before the failed write")
}

// InTx inside InTx joins the outer transaction: the outer one's outcome
// decides for both.
func durableTxNested(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	boom := errors.New("outer refused")
	err := s.InTx(ctx, func(tx storage.Store) error {
		err := tx.InTx(ctx, func(inner storage.Store) error {
			return inner.CreateUser(ctx, durableUser("acme", "u1", "u1@acme.example"))
		})
		if err != nil {
			return err
		}
		if _, err := tx.GetUser(ctx, "u1"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want the outer fn's error", err)
	}
	_, err = s.GetUser(ctx, "u1")
	durableErrIs(t, err, storage.ErrNotFound, "inner write after the outer transaction rolled back")

	err = s.InTx(ctx, func(tx storage.Store) error {
		return tx.InTx(ctx, func(inner storage.Store) error {
			return inner.CreateUser(ctx, durableUser("acme", "u2", "u2@acme.example"))
		})
	})
	durableOK(t, err, "nested InTx")
	_, err = s.GetUser(ctx, "u2")
	durableOK(t, err, "inner write after the outer transaction committed")
}
