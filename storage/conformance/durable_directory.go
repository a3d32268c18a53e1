package conformance

import (
	"errors"
	"sort"
	"testing"
	"time"

	"gatehouse/storage"
)

func durablePartners(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	p := durableMkPartner(t, s, "acme")
	durableMkPartner(t, s, "globex")

	got, err := s.GetPartner(ctx, "acme")
	durableOK(t, err, "GetPartner")
	durableSame(t, got, p, "GetPartner round trip")

	durableErrIs(t, s.CreatePartner(ctx, durablePartner("acme")), storage.ErrAlreadyExists, "CreatePartner twice")
	_, err = s.GetPartner(ctx, "nobody")
	durableErrIs(t, err, storage.ErrNotFound, "GetPartner(unknown)")

	all, err := s.ListPartners(ctx)
	durableOK(t, err, "ListPartners")
	var ids []string
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	durableSame(t, ids, []string{"acme", "globex"}, "ListPartners ids")
}

func durablePartnerUpdate(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	old := durableMkPartner(t, s, "acme")
	before := time.Now()

	updated, err := s.UpdatePartner(ctx, "acme", func(p storage.Partner) (storage.Partner, error) {
		durableSame(t, p, old, "UpdatePartner: fn gets the stored record")
		p.Name, p.RequireMFA = "Acme Renamed", false
		return p, nil
	})
	durableOK(t, err, "UpdatePartner")
	if updated.Name != "Acme Renamed" || updated.RequireMFA {
		t.Fatalf("UpdatePartner returned %+v", updated)
	}
	durableNotBefore(t, updated.UpdatedAt, before, "UpdatePartner sets UpdatedAt")
	got, err := s.GetPartner(ctx, "acme")
	durableOK(t, err, "GetPartner after update")
	durableSame(t, got, updated, "GetPartner returns what UpdatePartner returned")
	durableSame(t, got.CreatedAt, old.CreatedAt, "UpdatePartner keeps CreatedAt")

	_, err = s.UpdatePartner(ctx, "nobody", func(p storage.Partner) (storage.Partner, error) { return p, nil })
	durableErrIs(t, err, storage.ErrNotFound, "UpdatePartner(unknown)")
}

func durableOrganizations(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkPartner(t, s, "other")
	globex := durableOrg("acme", "globex")
	durableMkOrg(t, s, globex)
	initech := durableOrg("acme", "initech")
	initech.Name = "Initech"
	durableMkOrg(t, s, initech)

	got, err := s.GetOrganization(ctx, "acme", "globex")
	durableOK(t, err, "GetOrganization")
	durableSame(t, got, globex, "GetOrganization round trip")

	durableErrIs(t, s.CreateOrganization(ctx, globex), storage.ErrAlreadyExists, "CreateOrganization twice")
	// Ids are the partner's own: another partner may use the same one.
	durableMkOrg(t, s, durableOrg("other", "globex"))
	if err := s.CreateOrganization(ctx, durableOrg("nobody", "x")); err == nil {
		t.Fatal("CreateOrganization for an unknown partner succeeded")
	}

	list, err := s.ListOrganizations(ctx, "acme", storage.OrganizationFilter{})
	durableOK(t, err, "ListOrganizations")
	if len(list) != 2 {
		t.Fatalf("ListOrganizations(acme) = %d organizations, want 2: %+v", len(list), list)
	}

	updated, err := s.UpdateOrganization(ctx, "acme", "globex", func(o storage.Organization) (storage.Organization, error) {
		o.Name, o.CoManagement, o.SaaSAccount = "Globex Corp", false, ""
		return o, nil
	})
	durableOK(t, err, "UpdateOrganization")
	got, err = s.GetOrganization(ctx, "acme", "globex")
	durableOK(t, err, "GetOrganization after update")
	durableSame(t, got, updated, "GetOrganization returns what UpdateOrganization returned")
	if got.Name != "Globex Corp" || got.CoManagement || got.SaaSAccount != "" {
		t.Fatalf("UpdateOrganization stored %+v", got)
	}
	other, err := s.GetOrganization(ctx, "other", "globex")
	durableOK(t, err, "GetOrganization(other/globex)")
	if other.Name != "Org globex" {
		t.Fatalf("updating acme/globex changed other/globex: %+v", other)
	}

	durableOK(t, s.DeleteOrganization(ctx, "acme", "globex"), "DeleteOrganization")
	_, err = s.GetOrganization(ctx, "acme", "globex")
	durableErrIs(t, err, storage.ErrNotFound, "GetOrganization after delete")
	durableErrIs(t, s.DeleteOrganization(ctx, "acme", "globex"), storage.ErrNotFound, "DeleteOrganization twice")
	_, err = s.GetOrganization(ctx, "other", "globex")
	durableOK(t, err, "other partner's organization survives the delete")
}

func durableOrganizationsMapped(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	mapped := durableOrg("acme", "mapped")
	unmapped := durableOrg("acme", "unmapped")
	unmapped.SaaSAccount = ""
	durableMkOrg(t, s, mapped)
	durableMkOrg(t, s, unmapped)

	ids := func(m *bool) []string {
		t.Helper()
		list, err := s.ListOrganizations(ctx, "acme", storage.OrganizationFilter{Mapped: m})
		durableOK(t, err, "ListOrganizations")
		var out []string
		for _, o := range list {
			out = append(out, o.ID)
		}
		sort.Strings(out)
		return out
	}
	yes, no := true, false
	durableSame(t, ids(nil), []string{"mapped", "unmapped"}, "no Mapped filter")
	durableSame(t, ids(&yes), []string{"mapped"}, "Mapped=true")
	durableSame(t, ids(&no), []string{"unmapped"}, "Mapped=false")
}

// A partner's organization looks absent to every other partner.
func durableOrganizationsIsolation(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkPartner(t, s, "rival")
	durableMkOrg(t, s, durableOrg("acme", "globex"))

	_, err := s.GetOrganization(ctx, "rival", "globex")
	durableErrIs(t, err, storage.ErrNotFound, "GetOrganization with another partner")
	_, err = s.UpdateOrganization(ctx, "rival", "globex", func(o storage.Organization) (storage.Organization, error) {
		o.Name = "stolen"
		return o, nil
	})
	durableErrIs(t, err, storage.ErrNotFound, "UpdateOrganization with another partner")
	durableErrIs(t, s.DeleteOrganization(ctx, "rival", "globex"), storage.ErrNotFound, "DeleteOrganization with another partner")
	list, err := s.ListOrganizations(ctx, "rival", storage.OrganizationFilter{})
	durableOK(t, err, "ListOrganizations(rival)")
	if len(list) != 0 {
		t.Fatalf("ListOrganizations(rival) = %+v, want none", list)
	}
	got, err := s.GetOrganization(ctx, "acme", "globex")
	durableOK(t, err, "GetOrganization(acme)")
	if got.Name != "Org globex" {
		t.Fatalf("another partner changed the organization: %+v", got)
	}
}

func durableOrganizationDeleteConflict(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkOrg(t, s, durableOrg("acme", "globex"))
	u := durableUser("acme", "u1", "client@globex.example")
	u.Kind, u.OrganizationID = storage.KindClient, "globex"
	durableMkUser(t, s, u)

	err := s.DeleteOrganization(ctx, "acme", "globex")
	durableErrIs(t, err, storage.ErrConflict, "DeleteOrganization with a user in it")
	_, err = s.GetOrganization(ctx, "acme", "globex")
	durableOK(t, err, "organization survives a refused delete")

	_, err = s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.OrganizationID = ""
		return u, nil
	})
	durableOK(t, err, "UpdateUser out of the organization")
	durableOK(t, s.DeleteOrganization(ctx, "acme", "globex"), "DeleteOrganization once empty")
}

// Every Update* that gets an error from fn returns that very error and
// leaves the record as it was.
func durableUpdateFnError(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	boom := errors.New("refused by fn")
	p := durableMkPartner(t, s, "acme")
	o := durableOrg("acme", "globex")
	durableMkOrg(t, s, o)
	u := durableUser("acme", "u1", "u1@acme.example")
	durableMkUser(t, s, u)
	f := durableFactor("u1", "f1", storage.FactorTOTP)
	durableOK(t, s.CreateFactor(ctx, f), "CreateFactor")
	c := durableClient("app")
	durableOK(t, s.CreateClient(ctx, c), "CreateClient")

	check := func(what string, err error) {
		t.Helper()
		if err != boom {
			t.Fatalf("%s: got error %v, want fn's own error unwrapped", what, err)
		}
	}
	_, err := s.UpdatePartner(ctx, p.ID, func(p storage.Partner) (storage.Partner, error) {
		p.Name = "changed"
		return p, boom
	})
	check("UpdatePartner", err)
	_, err = s.UpdateOrganization(ctx, "acme", o.ID, func(o storage.Organization) (storage.Organization, error) {
		o.Name = "changed"
		return o, boom
	})
	check("UpdateOrganization", err)
	_, err = s.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
		u.Name = "changed"
		return u, boom
	})
	check("UpdateUser", err)
	_, err = s.UpdateFactor(ctx, f.ID, func(f storage.Factor) (storage.Factor, error) {
		f.Counter = 99
		return f, boom
	})
	check("UpdateFactor", err)
	_, err = s.UpdateClient(ctx, c.ID, func(c storage.Client) (storage.Client, error) {
		c.Name = "changed"
		return c, boom
	})
	check("UpdateClient", err)

	gp, err := s.GetPartner(ctx, p.ID)
	durableOK(t, err, "GetPartner")
	durableSame(t, gp, p, "partner after a refused update")
	gorg, err := s.GetOrganization(ctx, "acme", o.ID)
	durableOK(t, err, "GetOrganization")
	durableSame(t, gorg, o, "organization after a refused update")
	gu, err := s.GetUser(ctx, u.ID)
	durableOK(t, err, "GetUser")
	durableSame(t, gu, u, "user after a refused update")
	fs, err := s.ListFactors(ctx, u.ID)
	durableOK(t, err, "ListFactors")
	durableSame(t, fs, []storage.Factor{f}, "factor after a refused update")
	gc, err := s.GetClient(ctx, c.ID)
	durableOK(t, err, "GetClient")
	durableSame(t, gc, c, "client after a refused update")
}
