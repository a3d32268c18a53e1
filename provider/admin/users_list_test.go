package admin

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/storage"
)

// factorReads counts how a real store is asked for factors.
type factorReads struct {
	storage.Store
	perUser, batched atomic.Int64
}

func (f *factorReads) ListFactors(ctx context.Context, userID string) ([]storage.Factor, error) {
	f.perUser.Add(1)
	return f.Store.ListFactors(ctx, userID)
}

func (f *factorReads) ListFactorKinds(ctx context.Context, ids []string) (map[string][]storage.FactorKind, error) {
	f.batched.Add(1)
	return f.Store.ListFactorKinds(ctx, ids)
}

// A page of users reads every listed user's factors in one call.
func TestUserListReadsFactorsOnce(t *testing.T) {
	for _, b := range []struct {
		name string
		b    backend
	}{{"sqlite", sqliteMemory}, {"postgres", postgresRedis}} {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "postgres" && testing.Short() {
				t.Skip("PostgreSQL pass skipped in -short mode")
			}
			reads := &factorReads{}
			e := newEnv(t, func(t *testing.T) (storage.Store, storage.Ephemeral, func(func() time.Time)) {
				s, eph, setNow := b.b(t)
				reads.Store = s
				return reads, eph, setNow
			})
			ctx := context.Background()
			for i, f := range []storage.Factor{
				{ID: "f1", UserID: e.users["comanager"].ID, Kind: storage.FactorWebAuthn},
				{ID: "f2", UserID: e.users["comanager"].ID, Kind: storage.FactorTOTP},
				{ID: "f3", UserID: e.users["comanager"].ID, Kind: storage.FactorRecovery},
				{ID: "f4", UserID: e.users["comanager"].ID, Kind: storage.FactorRecovery},
				{ID: "f5", UserID: e.users["tech"].ID, Kind: storage.FactorSMS},
			} {
				f.Secret = []byte{byte(i)}
				if err := e.store.CreateFactor(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			reads.perUser.Store(0)
			reads.batched.Store(0)
			r := e.as("admin", "GET", acme+"/users?limit=50", nil)
			want(t, r, http.StatusOK)
			var l userList
			r.json(t, &l)
			if len(l.Users) < 10 {
				t.Fatalf("%d users listed", len(l.Users))
			}
			got := map[string][]string{}
			for _, u := range l.Users {
				got[u.Email] = u.MFA.Factors
			}
			if f := got["comanager@acme.example"]; len(f) != 3 || f[0] != "totp" || f[1] != "webauthn" || f[2] != "recovery" {
				t.Errorf("co-manager's factors %v", f)
			}
			if f := got["tech@acme.example"]; len(f) != 1 || f[0] != "sms" {
				t.Errorf("tech's factors %v", f)
			}
			if f := got["owner@acme.example"]; f == nil || len(f) != 0 {
				t.Errorf("owner's factors %#v, want []", f)
			}
			if n, m := reads.perUser.Load(), reads.batched.Load(); n != 0 || m != 1 {
				t.Errorf("listing %d users read factors %d times one by one and %d times in a batch, want 0 and 1", len(l.Users), n, m)
			}
		})
	}
}
