// Package admin owns partner administration: the JSON API under /api/v1
// (INTERFACE.md section 8) and the server-rendered console under /admin.
//
// Both front ends call the same service methods (users_service.go,
// actions_service.go, organizations_service.go, connections_service.go),
// which hold every permission check, every validation and every audit
// entry; the HTTP files only translate requests and responses. Rank rules
// and second-factor rules come from package policy and are never
// re-derived here.
//
// Who may do what (where INTERFACE.md is silent):
//
//   - Every endpoint but /api/v1/me needs a role that manages someone
//     (policy.Catalogue.Manages); others get 403. Such a caller reads every
//     user of their partner, and creates, changes, deletes, unlocks, pauses
//     or resets only users whose role ranks strictly below their own, and
//     assigns only such roles; never owner.
//   - A caller changes their own name and phone only; nothing else of
//     themselves (their role least of all).
//   - A caller who is not an employee (an org_admin) is confined to their
//     own organization: its users, only of kinds client, org_user and
//     co_managing, and the organization itself, read-only.
//   - Organizations are written by employees who manage someone;
//     connections, and testing one, need an employee ranked at least as
//     high as admin; the audit log is read by employees who manage
//     someone.
//   - Resending an invitation is an action on the user: only a caller who
//     outranks them.
//   - Another partner's object and an absent one give the same 404.
//
// Other flows are reached through interfaces and funcs in Config that
// this package owns (Sessions, Invites, Reinvites with InviteRefusal,
// TestConnection with ConnectionReport, EmailChanges, Notices); the wiring
// adapts the real ones, so admin imports neither account nor federation.
package admin
