package admin

import (
	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// The rights below are the only place the API and the console decide who
// may do what; both call them, the console also to hide what it may not.
// Rank comparisons are policy's.

// mayReadUsers: the roles that manage anyone see the user pages.
func (h *Handler) mayReadUsers(a *actor) bool { return h.roles.Manages(a.user.Role) }

// sees reports whether u is visible to a: same partner and, for an
// org_admin, same organization.
func (h *Handler) sees(a *actor, u storage.User) bool {
	if u.PartnerID != a.partner.ID {
		return false
	}
	scope := a.orgScope()
	return scope == "" || u.OrganizationID == scope
}

// mayManage: a may change, delete, unlock, pause or reset u: u is visible
// and ranks strictly below a. Never oneself (a role never ranks below
// itself).
func (h *Handler) mayManage(a *actor, u storage.User) bool {
	return h.sees(a, u) && u.ID != a.user.ID && h.roles.CanManage(a.user.Role, u.Role)
}

// mayAssign: a may give role to someone: strictly below a's, never owner.
func (h *Handler) mayAssign(a *actor, role string) bool {
	return role != policy.Owner && h.roles.CanManage(a.user.Role, role)
}

// mayCreateKind: an org_admin creates only their organization's people.
func (h *Handler) mayCreateKind(a *actor, kind storage.UserKind) bool {
	return a.orgScope() == "" || kind != storage.KindEmployee
}

// mayReadOrgs: whoever reads users reads organizations (an org_admin only
// their own).
func (h *Handler) mayReadOrgs(a *actor) bool { return h.mayReadUsers(a) }

// seesOrg reports whether organization o is visible to a.
func (h *Handler) seesOrg(a *actor, o storage.Organization) bool {
	scope := a.orgScope()
	return o.PartnerID == a.partner.ID && (scope == "" || o.ID == scope)
}

// mayWriteOrgs: employees who manage someone create, change and delete
// organizations, turn co-management on and off and map SaaS accounts.
func (h *Handler) mayWriteOrgs(a *actor) bool {
	return a.orgScope() == "" && h.mayReadUsers(a)
}

// mayConnections: a partner's upstream identity providers are account
// security; they need an employee ranked at least as high as admin (the
// owner alone when the catalogue has no admin).
func (h *Handler) mayConnections(a *actor) bool {
	if a.orgScope() != "" {
		return false
	}
	me, ok := h.roles.Lookup(a.user.Role)
	if !ok {
		return false
	}
	if admin, ok := h.roles.Lookup("admin"); ok {
		return me.Rank >= admin.Rank
	}
	return me.Name == policy.Owner
}

// mayReadAudit: employees who manage someone read the audit log.
func (h *Handler) mayReadAudit(a *actor) bool { return a.orgScope() == "" && h.mayReadUsers(a) }

// kindAllowsRole pairs kinds with roles, so that no client, organization
// user or co-managing user holds a partner-wide role (which would reach
// past their organization): clients are client; co-managing users are
// co_managing; organization users are org_admin or client; employees hold
// any other role, including the catalogue's own additions.
func kindAllowsRole(kind storage.UserKind, role string) bool {
	switch kind {
	case storage.KindClient:
		return role == "client"
	case storage.KindCoManaging:
		return role == "co_managing"
	case storage.KindOrgUser:
		return role == "org_admin" || role == "client"
	}
	return role != "client" && role != "co_managing" && role != "org_admin"
}
