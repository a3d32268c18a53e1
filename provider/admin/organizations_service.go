package admin

import (
	"context"
	"errors"
	"strings"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// orgIn is the body of POST .../organizations.
type orgIn struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	CoManagement bool   `json:"co_management"`
	SaaSAccount  string `json:"saas_account"`
}

// orgPatch is a change to an organization; nil fields stay. An empty
// SaaSAccount unmaps the organization.
type orgPatch struct {
	Name         *string
	CoManagement *bool
	SaaSAccount  *string
}

var orgReadOnly = []string{"id", "mapped", "created_at", "partner"}

var errNoOrgWrite = errForbidden("your role may not change organizations")

func (h *Handler) listOrganizations(ctx context.Context, a *actor, mapped *bool) ([]storage.Organization, error) {
	if !h.mayReadOrgs(a) {
		return nil, errForbidden("your role may not see organizations")
	}
	orgs, err := h.store.ListOrganizations(ctx, a.partner.ID, storage.OrganizationFilter{Mapped: mapped})
	if err != nil {
		return nil, err
	}
	out := orgs[:0]
	for _, o := range orgs {
		if h.seesOrg(a, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (h *Handler) organization(ctx context.Context, a *actor, id string) (storage.Organization, error) {
	if !h.mayReadOrgs(a) {
		return storage.Organization{}, errForbidden("your role may not see organizations")
	}
	o, err := h.store.GetOrganization(ctx, a.partner.ID, id)
	if err != nil {
		return o, notFoundAs(err, errNotFound("organization"))
	}
	if !h.seesOrg(a, o) {
		return storage.Organization{}, errNotFound("organization")
	}
	return o, nil
}

func (h *Handler) createOrganization(ctx context.Context, a *actor, in orgIn) (storage.Organization, error) {
	if !h.mayWriteOrgs(a) {
		return storage.Organization{}, errNoOrgWrite
	}
	o := storage.Organization{ID: strings.TrimSpace(in.ID), PartnerID: a.partner.ID, CoManagement: in.CoManagement,
		CreatedAt: h.now(), UpdatedAt: h.now()}
	if e := checkID(o.ID); e != nil {
		return o, e
	}
	var e *web.APIError
	if o.Name, e = cleanText("name", in.Name, maxName, true); e != nil {
		return o, e
	}
	if o.SaaSAccount, e = cleanText("saas_account", in.SaaSAccount, maxName, false); e != nil {
		return o, e
	}
	if _, err := h.store.GetOrganization(ctx, a.partner.ID, o.ID); err == nil {
		return o, errDuplicate("id")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return o, err
	}
	err := h.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreateOrganization(ctx, o); err != nil {
			return err
		}
		return h.audit(ctx, tx, a, "organization.create", o.ID, map[string]any{
			"name": o.Name, "co_management": o.CoManagement, "saas_account": o.SaaSAccount})
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return o, errDuplicate("id")
	}
	return o, err
}

// updateOrganization renames, maps or unmaps an organization and turns
// co-management on or off. Co-management stays on while co-managing users
// belong to the organization: a 422 naming co_management says so.
func (h *Handler) updateOrganization(ctx context.Context, a *actor, id string, in orgPatch) (storage.Organization, error) {
	if !h.mayWriteOrgs(a) {
		return storage.Organization{}, errNoOrgWrite
	}
	cur, err := h.organization(ctx, a, id)
	if err != nil {
		return cur, err
	}
	var name, saas string
	var e *web.APIError
	if in.Name != nil {
		if name, e = cleanText("name", *in.Name, maxName, true); e != nil {
			return cur, e
		}
	}
	if in.SaaSAccount != nil {
		if saas, e = cleanText("saas_account", *in.SaaSAccount, maxName, false); e != nil {
			return cur, e
		}
	}
	turningOff := in.CoManagement != nil && !*in.CoManagement && cur.CoManagement
	if turningOff {
		if err := h.noCoManagingUsers(ctx, a, id); err != nil {
			return cur, err
		}
	}
	var out storage.Organization
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		details := map[string]any{}
		o, err := tx.UpdateOrganization(ctx, a.partner.ID, id, func(old storage.Organization) (storage.Organization, error) {
			o := old
			change(details, "name", &o.Name, in.Name != nil, name)
			change(details, "co_management", &o.CoManagement, in.CoManagement != nil, in.CoManagement != nil && *in.CoManagement)
			change(details, "saas_account", &o.SaaSAccount, in.SaaSAccount != nil, saas)
			return o, nil
		})
		if err != nil {
			return notFoundAs(err, errNotFound("organization"))
		}
		out = o
		if len(details) == 0 {
			return nil
		}
		return h.audit(ctx, tx, a, "organization.update", o.ID, details)
	})
	return out, err
}

// noCoManagingUsers refuses to turn co-management off under co-managing
// users, who need it (INTERFACE.md section 3). A user created in the same
// instant could still slip in; the seed and this check keep the rule
// everywhere else.
func (h *Handler) noCoManagingUsers(ctx context.Context, a *actor, orgID string) error {
	users, _, err := h.store.ListUsers(ctx, storage.UserFilter{PartnerID: a.partner.ID,
		Kind: storage.KindCoManaging, OrganizationID: orgID}, storage.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errField("co_management", "cannot be turned off while co-managing users belong to the organization")
	}
	return nil
}

// deleteOrganization deletes an organization no user belongs to; with users
// it is a 409 conflict.
func (h *Handler) deleteOrganization(ctx context.Context, a *actor, id string) error {
	if !h.mayWriteOrgs(a) {
		return errNoOrgWrite
	}
	o, err := h.organization(ctx, a, id)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.DeleteOrganization(ctx, a.partner.ID, id); err != nil {
			return err
		}
		return h.audit(ctx, tx, a, "organization.delete", id, map[string]any{"name": o.Name})
	})
	switch {
	case errors.Is(err, storage.ErrConflict):
		return errConflict("users still belong to the organization; move or delete them first")
	case errors.Is(err, storage.ErrNotFound):
		return errNotFound("organization")
	}
	return err
}
