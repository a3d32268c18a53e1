// Package conformance holds the test suites every storage backend must
// pass: RunDurable for storage.Store (SQLite, PostgreSQL) and RunEphemeral
// for storage.Ephemeral (in process, Redis). A behaviour the rest of
// Gatehouse relies on is checked here once, so every backend has it.
//
// The suites drive a backend only through its interface, on real servers;
// a backend's own test file is a few lines that hand them a constructor.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"gatehouse/storage"
)

// RunDurable checks that a storage.Store keeps the contract the rest of
// Gatehouse relies on. newStore is called once per subtest, from subtests
// running in parallel, and must return an empty, ready store that the test
// cleans up (sqltest.SQLite and sqltest.Postgres do).
//
// Records are compared after the store's round trip with times truncated
// to the microsecond and empty lists and maps taken as nil, the precision
// and shape every backend can keep.
func RunDurable(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"Partners", durablePartners},
		{"PartnerUpdate", durablePartnerUpdate},
		{"Organizations", durableOrganizations},
		{"OrganizationsMappedFilter", durableOrganizationsMapped},
		{"OrganizationsOtherPartner", durableOrganizationsIsolation},
		{"OrganizationDeleteWithUsers", durableOrganizationDeleteConflict},
		{"UserRoundTrip", durableUserRoundTrip},
		{"UserEmailIgnoresCase", durableUserEmailCase},
		{"UserUsernamePerPartner", durableUserUsername},
		{"UserUnknownPartner", durableUserUnknownPartner},
		{"UserUpdate", durableUserUpdate},
		{"UserUpdateConcurrent", durableUserUpdateConcurrent},
		{"UserDelete", durableUserDelete},
		{"ListUsersFilters", durableListUsersFilters},
		{"ListUsersPages", durableListUsersPages},
		{"ListUsersPageSizes", durableListUsersPageSizes},
		{"Factors", durableFactors},
		{"FactorDeleteOnce", durableFactorDeleteOnce},
		{"FactorKinds", durableFactorKinds},
		{"FactorUpdateConcurrent", durableFactorUpdateConcurrent},
		{"Consents", durableConsents},
		{"Connections", durableConnections},
		{"Clients", durableClients},
		{"ServiceProviders", durableServiceProviders},
		{"Keys", durableKeys},
		{"RefreshTokens", durableRefreshTokens},
		{"RefreshTokenUse", durableRefreshUse},
		{"RefreshTokenUseConcurrent", durableRefreshUseConcurrent},
		{"RefreshTokenRevoke", durableRefreshRevoke},
		{"RefreshTokenDeleteExpired", durableRefreshExpired},
		{"AuditOrder", durableAuditOrder},
		{"AuditPages", durableAuditPages},
		{"InTxCommits", durableTxCommit},
		{"InTxRollsBack", durableTxRollback},
		{"InTxNested", durableTxNested},
		{"UpdateErrorWritesNothing", durableUpdateFnError},
		{"Ping", durablePing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// durableT0 is a fixed instant with sub-microsecond digits, to show they
// are dropped consistently rather than rounded unpredictably.
var durableT0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// durableRacers is how many goroutines race for a conditional write.
const durableRacers = 16

func durableCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func durableOK(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

func durableErrIs(t *testing.T, err, want error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", fmt.Sprintf(what, args...), err, want)
	}
}

// durableSame fails unless got and want hold the same values once both
// are put in the shape every backend keeps (see RunDurable).
func durableSame(t *testing.T, got, want any, what string, args ...any) {
	t.Helper()
	g, w := durableNorm(got), durableNorm(want)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %+v\n want %+v", fmt.Sprintf(what, args...), g, w)
	}
}

// durableNorm returns a copy of v with every time truncated to the
// microsecond in UTC and every empty slice or map made nil.
func durableNorm(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return v
	}
	out := reflect.New(rv.Type()).Elem()
	durableNormValue(out, rv)
	return out.Interface()
}

var durableTimeType = reflect.TypeOf(time.Time{})

func durableNormValue(dst, src reflect.Value) {
	switch {
	case src.Type() == durableTimeType:
		tm := src.Interface().(time.Time)
		if !tm.IsZero() {
			tm = tm.UTC().Truncate(time.Microsecond)
		}
		dst.Set(reflect.ValueOf(tm))
	case src.Kind() == reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			if dst.Field(i).CanSet() {
				durableNormValue(dst.Field(i), src.Field(i))
			}
		}
	case src.Kind() == reflect.Slice:
		if src.Len() == 0 {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			durableNormValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case src.Kind() == reflect.Map:
		if src.Len() == 0 {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for _, k := range src.MapKeys() {
			e := reflect.New(src.Type().Elem()).Elem()
			durableNormValue(e, src.MapIndex(k))
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	case src.Kind() == reflect.Interface && !src.IsNil():
		e := reflect.New(src.Elem().Type()).Elem()
		durableNormValue(e, src.Elem())
		dst.Set(e)
	default:
		dst.Set(src)
	}
}

// durableRace runs f from durableRacers goroutines released together and
// returns their errors.
func durableRace(f func(i int) error) []error {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, durableRacers)
	)
	for i := range durableRacers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// durableNotBefore fails when a time went backwards.
func durableNotBefore(t *testing.T, got, floor time.Time, what string) {
	t.Helper()
	if got.Before(floor.Truncate(time.Microsecond)) {
		t.Fatalf("%s: %v is before %v", what, got, floor)
	}
}

func durablePing(t *testing.T, s storage.Store) {
	durableOK(t, s.Ping(durableCtx(t)), "Ping")
}

// Fixtures. Every field is set, so a column the backend forgets shows.

func durablePartner(id string) storage.Partner {
	return storage.Partner{
		ID: id, Name: "Partner " + id, Domain: id + ".example", PrimaryEmail: "owner@" + id + ".example",
		RequireMFA: true, CreatedAt: durableT0, UpdatedAt: durableT0.Add(time.Minute),
	}
}

func durableMkPartner(t *testing.T, s storage.Store, id string) storage.Partner {
	t.Helper()
	p := durablePartner(id)
	durableOK(t, s.CreatePartner(durableCtx(t), p), "CreatePartner(%s)", id)
	return p
}

func durableOrg(partnerID, id string) storage.Organization {
	return storage.Organization{
		ID: id, PartnerID: partnerID, Name: "Org " + id, CoManagement: true, SaaSAccount: "SP-" + id,
		CreatedAt: durableT0, UpdatedAt: durableT0,
	}
}

func durableMkOrg(t *testing.T, s storage.Store, o storage.Organization) {
	t.Helper()
	durableOK(t, s.CreateOrganization(durableCtx(t), o), "CreateOrganization(%s/%s)", o.PartnerID, o.ID)
}

// durableUser is a user with every field set; email is stored as given, so
// callers pass it lower-cased when they compare the round trip.
func durableUser(partnerID, id, email string) storage.User {
	return storage.User{
		ID: id, PartnerID: partnerID, Email: email, Name: "User " + id, Kind: storage.KindEmployee,
		Role: "admin", Phone: "+15555550100", OrganizationID: "", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Active: true, SSO: false, PasswordResetDisabled: true,
		LockedUntil:       durableT0.Add(time.Hour),
		MFAPauseNextLogin: true, MFAPauseUntil: durableT0.Add(24 * time.Hour), MFAPauseReason: "lost phone",
		UpstreamSubject:   "sub-" + id,
		Notifications:     storage.Notifications{Error: true, Invoice: false, General: true, Frequency: "weekly"},
		PasswordChangedAt: durableT0.Add(-time.Hour), CreatedAt: durableT0, UpdatedAt: durableT0,
	}
}

func durableMkUser(t *testing.T, s storage.Store, u storage.User) {
	t.Helper()
	durableOK(t, s.CreateUser(durableCtx(t), u), "CreateUser(%s)", u.ID)
}
