package conformance

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"gatehouse/storage"
)

func durableUserRoundTrip(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkOrg(t, s, durableOrg("acme", "globex"))
	u := durableUser("acme", "u1", "jdoe@globex.example")
	u.Kind, u.Role, u.Username, u.OrganizationID = storage.KindCoManaging, "co_managing", "jdoe", "globex"
	durableMkUser(t, s, u)

	got, err := s.GetUser(ctx, "u1")
	durableOK(t, err, "GetUser")
	durableSame(t, got, u, "GetUser round trip")
	got, err = s.GetUserByEmail(ctx, "jdoe@globex.example")
	durableOK(t, err, "GetUserByEmail")
	durableSame(t, got, u, "GetUserByEmail round trip")
	got, err = s.GetUserByUsername(ctx, "acme", "jdoe")
	durableOK(t, err, "GetUserByUsername")
	durableSame(t, got, u, "GetUserByUsername round trip")

	_, err = s.GetUser(ctx, "nobody")
	durableErrIs(t, err, storage.ErrNotFound, "GetUser(unknown)")
	_, err = s.GetUserByEmail(ctx, "nobody@acme.example")
	durableErrIs(t, err, storage.ErrNotFound, "GetUserByEmail(unknown)")
	_, err = s.GetUserByUsername(ctx, "acme", "nobody")
	durableErrIs(t, err, storage.ErrNotFound, "GetUserByUsername(unknown)")
	durableErrIs(t, s.CreateUser(ctx, durableUser("acme", "u1", "else@acme.example")), storage.ErrAlreadyExists,
		"CreateUser with a taken id")

	// A user with nothing optional set reads back with nothing set.
	bare := storage.User{ID: "u2", PartnerID: "acme", Email: "bare@acme.example", Kind: storage.KindEmployee,
		Role: "tech", CreatedAt: durableT0, UpdatedAt: durableT0}
	durableMkUser(t, s, bare)
	got, err = s.GetUser(ctx, "u2")
	durableOK(t, err, "GetUser(bare)")
	durableSame(t, got, bare, "bare user round trip")
	if got.Locked(durableT0) || !got.LockedUntil.IsZero() || !got.MFAPauseUntil.IsZero() {
		t.Fatalf("unset times came back set: %+v", got)
	}
}

// Emails are one namespace across every partner, compared without case.
func durableUserEmailCase(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkPartner(t, s, "other")
	durableMkUser(t, s, durableUser("acme", "u1", "Ann.Lee@Example.COM"))

	got, err := s.GetUserByEmail(ctx, "ann.lee@example.com")
	durableOK(t, err, "GetUserByEmail(lower case)")
	if got.ID != "u1" {
		t.Fatalf("GetUserByEmail found %q", got.ID)
	}
	if got.Email != "ann.lee@example.com" {
		t.Fatalf("email stored as %q, want it lower-cased", got.Email)
	}
	got, err = s.GetUserByEmail(ctx, "ANN.LEE@EXAMPLE.com")
	durableOK(t, err, "GetUserByEmail(upper case)")
	if got.ID != "u1" {
		t.Fatalf("GetUserByEmail found %q", got.ID)
	}
	durableErrIs(t, s.CreateUser(ctx, durableUser("other", "u2", "ANN.lee@example.com")), storage.ErrAlreadyExists,
		"CreateUser with the same email, other case, other partner")

	durableMkUser(t, s, durableUser("acme", "u3", "bob@example.com"))
	_, err = s.UpdateUser(ctx, "u3", func(u storage.User) (storage.User, error) {
		u.Email = "Ann.Lee@example.com"
		return u, nil
	})
	durableErrIs(t, err, storage.ErrAlreadyExists, "UpdateUser to a taken email")
	got, err = s.GetUser(ctx, "u3")
	durableOK(t, err, "GetUser(u3)")
	if got.Email != "bob@example.com" {
		t.Fatalf("a refused email change was written: %q", got.Email)
	}
}

// Usernames are unique within a partner only, and many users have none.
func durableUserUsername(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkPartner(t, s, "other")
	mk := func(partner, id, email, username string) error {
		u := durableUser(partner, id, email)
		u.Kind, u.Username = storage.KindCoManaging, username
		return s.CreateUser(ctx, u)
	}
	durableOK(t, mk("acme", "u1", "a1@x.example", "jdoe"), "first jdoe at acme")
	durableOK(t, mk("other", "u2", "a2@x.example", "jdoe"), "jdoe at another partner")
	durableErrIs(t, mk("acme", "u3", "a3@x.example", "jdoe"), storage.ErrAlreadyExists, "second jdoe at acme")
	durableErrIs(t, mk("acme", "u3", "a3@x.example", "JDoe"), storage.ErrAlreadyExists, "second jdoe at acme, other case")
	durableOK(t, mk("acme", "u4", "a4@x.example", ""), "first user without username")
	durableOK(t, mk("acme", "u5", "a5@x.example", ""), "second user without username")

	got, err := s.GetUserByUsername(ctx, "other", "jdoe")
	durableOK(t, err, "GetUserByUsername(other, jdoe)")
	if got.ID != "u2" {
		t.Fatalf("GetUserByUsername(other, jdoe) = %q, want u2", got.ID)
	}
	got, err = s.GetUserByUsername(ctx, "acme", "JDOE")
	durableOK(t, err, "GetUserByUsername(acme, JDOE)")
	if got.ID != "u1" {
		t.Fatalf("GetUserByUsername(acme, JDOE) = %q, want u1", got.ID)
	}
	_, err = s.GetUserByUsername(ctx, "nobody", "jdoe")
	durableErrIs(t, err, storage.ErrNotFound, "GetUserByUsername at an unknown partner")
	_, err = s.GetUserByUsername(ctx, "acme", "")
	durableErrIs(t, err, storage.ErrNotFound, "GetUserByUsername with no username")
}

func durableUserUnknownPartner(t *testing.T, s storage.Store) {
	if err := s.CreateUser(durableCtx(t), durableUser("nobody", "u1", "u1@x.example")); err == nil {
		t.Fatal("CreateUser for an unknown partner succeeded")
	}
}

func durableUserUpdate(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	u := durableUser("acme", "u1", "u1@acme.example")
	durableMkUser(t, s, u)

	updated, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Role, u.Active, u.LockedUntil = "finance", false, durableT0.Add(72*time.Hour)
		u.Notifications.Frequency = "daily"
		return u, nil
	})
	durableOK(t, err, "UpdateUser")
	if updated.Role != "finance" || updated.Active || updated.Notifications.Frequency != "daily" {
		t.Fatalf("UpdateUser returned %+v", updated)
	}
	got, err := s.GetUser(ctx, "u1")
	durableOK(t, err, "GetUser after update")
	durableSame(t, got, updated, "GetUser returns what UpdateUser returned")
	durableSame(t, got.CreatedAt, u.CreatedAt, "UpdateUser keeps CreatedAt")
	durableNotBefore(t, got.UpdatedAt, u.UpdatedAt, "UpdateUser moves UpdatedAt")

	_, err = s.UpdateUser(ctx, "nobody", func(u storage.User) (storage.User, error) { return u, nil })
	durableErrIs(t, err, storage.ErrNotFound, "UpdateUser(unknown)")
}

// Concurrent updates of one record each see the previous one's result:
// no write is lost.
func durableUserUpdateConcurrent(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	u := durableUser("acme", "u1", "u1@acme.example")
	u.MFAPauseReason = ""
	durableMkUser(t, s, u)

	errs := durableRace(func(i int) error {
		_, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
			u.MFAPauseReason += "x"
			return u, nil
		})
		return err
	})
	for i, err := range errs {
		durableOK(t, err, "UpdateUser #%d", i)
	}
	got, err := s.GetUser(ctx, "u1")
	durableOK(t, err, "GetUser")
	if len(got.MFAPauseReason) != durableRacers {
		t.Fatalf("after %d concurrent updates the field has %d marks: writes were lost", durableRacers, len(got.MFAPauseReason))
	}
}

func durableUserDelete(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkUser(t, s, durableUser("acme", "u1", "u1@acme.example"))
	durableMkUser(t, s, durableUser("acme", "u2", "u2@acme.example"))
	for _, uid := range []string{"u1", "u2"} {
		durableOK(t, s.CreateFactor(ctx, durableFactor(uid, uid+"-totp", storage.FactorTOTP)), "CreateFactor")
		durableOK(t, s.CreateFactor(ctx, durableFactor(uid, uid+"-rc", storage.FactorRecovery)), "CreateFactor")
		durableOK(t, s.PutConsent(ctx, storage.Consent{UserID: uid, ClientID: "app", Scopes: []string{"openid"}, GrantedAt: durableT0}), "PutConsent")
	}

	durableOK(t, s.DeleteUser(ctx, "u1"), "DeleteUser")
	_, err := s.GetUser(ctx, "u1")
	durableErrIs(t, err, storage.ErrNotFound, "GetUser after delete")
	_, err = s.GetUserByEmail(ctx, "u1@acme.example")
	durableErrIs(t, err, storage.ErrNotFound, "GetUserByEmail after delete")
	fs, err := s.ListFactors(ctx, "u1")
	durableOK(t, err, "ListFactors after delete")
	if len(fs) != 0 {
		t.Fatalf("factors survived DeleteUser: %+v", fs)
	}
	_, err = s.GetConsent(ctx, "u1", "app")
	durableErrIs(t, err, storage.ErrNotFound, "GetConsent after delete")
	durableErrIs(t, s.DeleteUser(ctx, "u1"), storage.ErrNotFound, "DeleteUser twice")

	// The other user keeps everything.
	fs, err = s.ListFactors(ctx, "u2")
	durableOK(t, err, "ListFactors(u2)")
	if len(fs) != 2 {
		t.Fatalf("u2 has %d factors after u1 was deleted, want 2", len(fs))
	}
	_, err = s.GetConsent(ctx, "u2", "app")
	durableOK(t, err, "GetConsent(u2)")

	// The email is free again.
	durableMkUser(t, s, durableUser("acme", "u3", "u1@acme.example"))
}

func durableListUsersFilters(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkPartner(t, s, "other")
	durableMkOrg(t, s, durableOrg("acme", "globex"))
	mk := func(partner, id, email, name string, kind storage.UserKind, role, org, username string) {
		u := durableUser(partner, id, email)
		u.Name, u.Kind, u.Role, u.OrganizationID, u.Username = name, kind, role, org, username
		durableMkUser(t, s, u)
	}
	mk("acme", "owner", "olivia@acme.example", "Olivia Owner", storage.KindEmployee, "owner", "", "")
	mk("acme", "tech", "tom@acme.example", "Tom Tech", storage.KindEmployee, "tech", "", "")
	mk("acme", "client", "carla@globex.example", "Carla Client", storage.KindClient, "client", "globex", "")
	mk("acme", "co", "jdoe@globex.example", "John Doe", storage.KindCoManaging, "co_managing", "globex", "j_doe")
	mk("other", "rival", "rita@other.example", "Rita Olivia", storage.KindEmployee, "owner", "", "")

	ids := func(f storage.UserFilter) []string {
		t.Helper()
		users, next, err := s.ListUsers(ctx, f, storage.Page{})
		durableOK(t, err, "ListUsers(%+v)", f)
		if next != "" {
			t.Fatalf("ListUsers(%+v): a next page token on a short list", f)
		}
		out := []string{}
		for _, u := range users {
			out = append(out, u.ID)
		}
		return out
	}
	// Lists are in email order.
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme"}), []string{"client", "co", "owner", "tech"}, "partner acme")
	durableSame(t, ids(storage.UserFilter{PartnerID: "other"}), []string{"rival"}, "partner other")
	durableSame(t, ids(storage.UserFilter{}), []string{"client", "co", "owner", "rival", "tech"}, "no filter")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", Kind: storage.KindEmployee}), []string{"owner", "tech"}, "kind")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", Role: "tech"}), []string{"tech"}, "role")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", OrganizationID: "globex"}), []string{"client", "co"}, "organization")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", Query: "OLIVIA"}), []string{"owner"}, "query on name and email, any case")
	durableSame(t, ids(storage.UserFilter{Query: "olivia"}), []string{"owner", "rival"}, "query across partners")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", Query: "globex.example"}), []string{"client", "co"}, "query on email")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", Query: "j_d"}), []string{"co"}, "query on username, _ taken literally")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", Query: "%"}), []string{}, "query with a percent sign taken literally")
	durableSame(t, ids(storage.UserFilter{PartnerID: "acme", Kind: storage.KindClient, Query: "carla"}), []string{"client"}, "filters combine")
	durableSame(t, ids(storage.UserFilter{PartnerID: "nobody"}), []string{}, "unknown partner")
}

// durableMkUsers creates n users of partner acme in one transaction,
// emails user-000@... upwards, and returns their ids in email order.
func durableMkUsers(t *testing.T, s storage.Store, n int) []string {
	t.Helper()
	durableMkPartner(t, s, "acme")
	var ids []string
	err := s.InTx(durableCtx(t), func(tx storage.Store) error {
		for i := range n {
			// Created in reverse so insertion order cannot pass for email order.
			j := n - 1 - i
			u := durableUser("acme", fmt.Sprintf("id-%03d", j), fmt.Sprintf("user-%03d@acme.example", j))
			if err := tx.CreateUser(durableCtx(t), u); err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		return nil
	})
	durableOK(t, err, "create %d users", n)
	sort.Strings(ids)
	return ids
}

func durableListUsersPages(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	want := durableMkUsers(t, s, 23)

	var got []string
	var sizes []int
	token := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("ListUsers never ended")
		}
		users, next, err := s.ListUsers(ctx, storage.UserFilter{PartnerID: "acme"}, storage.Page{Token: token, Limit: 5})
		durableOK(t, err, "ListUsers page %d", page)
		sizes = append(sizes, len(users))
		for _, u := range users {
			got = append(got, u.ID)
		}
		if next == "" {
			break
		}
		token = next
	}
	durableSame(t, sizes, []int{5, 5, 5, 5, 3}, "page sizes")
	durableSame(t, got, want, "every user once, in email order")

	// A page token keeps working after rows before it are deleted.
	_, next, err := s.ListUsers(ctx, storage.UserFilter{PartnerID: "acme"}, storage.Page{Limit: 5})
	durableOK(t, err, "ListUsers first page")
	durableOK(t, s.DeleteUser(ctx, want[0]), "DeleteUser")
	users, _, err := s.ListUsers(ctx, storage.UserFilter{PartnerID: "acme"}, storage.Page{Token: next, Limit: 5})
	durableOK(t, err, "ListUsers second page")
	if len(users) != 5 || users[0].ID != want[5] {
		t.Fatalf("second page after a delete starts at %q, want %q", users[0].ID, want[5])
	}
}

func durableListUsersPageSizes(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	want := durableMkUsers(t, s, 501)
	all := storage.UserFilter{PartnerID: "acme"}

	users, next, err := s.ListUsers(ctx, all, storage.Page{})
	durableOK(t, err, "ListUsers default limit")
	if len(users) != 50 || next == "" {
		t.Fatalf("default page: %d users, next %q; want 50 and a token", len(users), next)
	}
	users, next, err = s.ListUsers(ctx, all, storage.Page{Limit: 10000})
	durableOK(t, err, "ListUsers huge limit")
	if len(users) != 500 || next == "" {
		t.Fatalf("limit 10000: %d users, next %q; want the cap of 500 and a token", len(users), next)
	}
	users, next, err = s.ListUsers(ctx, all, storage.Page{Token: next, Limit: 10000})
	durableOK(t, err, "ListUsers last page")
	if len(users) != 1 || next != "" || users[0].ID != want[500] {
		t.Fatalf("last page: %d users, next %q", len(users), next)
	}
}
