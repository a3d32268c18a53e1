package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gatehouse/provider/policy"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// newUser is the body of POST .../users: a seed user without a password
// (INTERFACE.md section 3).
type newUser struct {
	Partner               string           `json:"partner"`
	Email                 string           `json:"email"`
	Name                  string           `json:"name"`
	Kind                  string           `json:"kind"`
	Role                  string           `json:"role"`
	Phone                 string           `json:"phone"`
	Username              string           `json:"username"`
	Organization          string           `json:"organization"`
	Active                *bool            `json:"active"`
	SSO                   *bool            `json:"sso"`
	PasswordResetDisabled *bool            `json:"password_reset_disabled"`
	Notifications         *notificationsIn `json:"notifications"`
}

// Fields of a user a create body may not carry: the server assigns them,
// or the user sets them from the invitation.
var createReadOnly = []string{"id", "locked", "locked_until", "mfa", "created_at", "pending_email",
	"password", "password_hash", "totp_secret"}

// userPatch is the body of PATCH .../users/{id}; absent fields stay.
type userPatch struct {
	Name                  *string `json:"name"`
	Role                  *string `json:"role"`
	Phone                 *string `json:"phone"`
	Active                *bool   `json:"active"`
	SSO                   *bool   `json:"sso"`
	PasswordResetDisabled *bool   `json:"password_reset_disabled"`
	Email                 *string `json:"email"`
}

// Fields of a user a PATCH may not change.
var patchReadOnly = append([]string{"partner", "kind", "username", "organization", "notifications"}, createReadOnly...)

// userQuery narrows a user list.
type userQuery struct {
	Kind, Role, Q, Organization string
	Page                        storage.Page
}

// emailChange is an address change waiting for the user to confirm it from
// a mail to the new address (Config.EmailChanges sends it and applies the
// change), kept in the ephemeral store under EmailChangeKey(userID) so the
// API and console can show it as pending_email until it expires.
type emailChange struct {
	Email       string    `json:"email"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
}

// emailChangeTTL is how long a pending address is shown; the confirmation
// link itself may expire sooner.
const emailChangeTTL = 24 * time.Hour

// EmailChangeKey is where a pending address change of userID is kept.
func EmailChangeKey(userID string) string { return "email_change:" + userID }

// LockoutKey is the ephemeral counter of userID's failed sign-ins, which an
// unlock clears.
func LockoutKey(userID string) string { return "lockout:" + userID }

// defaultRoles are the roles of kinds that have one when the body names
// none, as in a seed file.
var defaultRoles = map[storage.UserKind]string{
	storage.KindClient: "client", storage.KindCoManaging: "co_managing", storage.KindOrgUser: "org_admin",
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("admin: system randomness failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

func errRank(role string) *web.APIError {
	return errForbidden("you may manage only users whose role ranks below yours (this one is " + role + ")")
}

var errNoUsers = errForbidden("your role manages no users")

// target returns the user id names when a may see them; otherwise the same
// 404 as for no user at all.
func (h *Handler) target(ctx context.Context, a *actor, id string) (storage.User, error) {
	if !h.mayReadUsers(a) {
		return storage.User{}, errNoUsers
	}
	u, err := h.store.GetUser(ctx, id)
	if err != nil {
		return u, notFoundAs(err, errNotFound("user"))
	}
	if !h.sees(a, u) {
		return storage.User{}, errNotFound("user")
	}
	return u, nil
}

// managed is target, for an action only a higher rank may take.
func (h *Handler) managed(ctx context.Context, a *actor, id string) (storage.User, error) {
	u, err := h.target(ctx, a, id)
	if err == nil && !h.mayManage(a, u) {
		err = errRank(u.Role)
	}
	return u, err
}

func (h *Handler) listUsers(ctx context.Context, a *actor, q userQuery) ([]storage.User, string, error) {
	if !h.mayReadUsers(a) {
		return nil, "", errNoUsers
	}
	f := storage.UserFilter{PartnerID: a.partner.ID, Kind: storage.UserKind(q.Kind), Role: q.Role,
		OrganizationID: q.Organization, Query: strings.TrimSpace(q.Q)}
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, "", errField("kind", "must be employee, client, org_user or co_managing")
	}
	if _, ok := h.roles.Lookup(f.Role); f.Role != "" && !ok {
		return nil, "", errField("role", "no such role")
	}
	if scope := a.orgScope(); scope != "" {
		if f.OrganizationID != "" && f.OrganizationID != scope {
			return []storage.User{}, "", nil
		}
		f.OrganizationID = scope
	}
	users, next, err := h.store.ListUsers(ctx, f, q.Page)
	if err != nil {
		return nil, "", notFoundAs(err, errField("page_token", "is not a page token of this list"))
	}
	return users, next, nil
}

// createUser validates a new user as a seed entry would be, checks the
// caller may give the role, stores the user with an audit entry, and sends
// the invitation.
func (h *Handler) createUser(ctx context.Context, a *actor, in newUser) (storage.User, error) {
	if !h.mayReadUsers(a) {
		return storage.User{}, errNoUsers
	}
	u, err := h.checkNewUser(ctx, a, in)
	if err != nil {
		return storage.User{}, err
	}
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return h.audit(ctx, tx, a, "user.create", u.ID, map[string]any{
			"target_email": u.Email, "kind": string(u.Kind), "role": u.Role, "organization": u.OrganizationID,
			"username": u.Username, "active": u.Active, "sso": u.SSO,
		})
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return storage.User{}, errDuplicate("email or username")
	}
	if err != nil {
		return storage.User{}, err
	}
	h.invite(ctx, a, u)
	return u, nil
}

func (h *Handler) checkNewUser(ctx context.Context, a *actor, in newUser) (storage.User, error) {
	if in.Partner != "" && in.Partner != a.partner.ID {
		return storage.User{}, errField("partner", "must be the partner of the path")
	}
	u := storage.User{ID: newID(), PartnerID: a.partner.ID, Active: true, CreatedAt: h.now(), UpdatedAt: h.now()}
	var e *web.APIError
	if u.Email, e = normEmail("email", in.Email); e != nil {
		return u, e
	}
	// As in a seed file, the name defaults to the address.
	if u.Name, e = cleanText("name", in.Name, maxName, false); e != nil {
		return u, e
	}
	if u.Name == "" {
		u.Name = u.Email
	}
	u.Kind = storage.UserKind(strings.TrimSpace(in.Kind))
	if !u.Kind.Valid() {
		return u, errField("kind", "must be employee, client, org_user or co_managing")
	}
	u.Role = strings.TrimSpace(in.Role)
	if u.Role == "" {
		u.Role = defaultRoles[u.Kind]
	}
	if u.Role == "" {
		return u, errField("role", "is required for an employee")
	}
	if _, ok := h.roles.Lookup(u.Role); !ok {
		return u, errField("role", "no such role")
	}
	if !kindAllowsRole(u.Kind, u.Role) {
		return u, errField("role", "a "+string(u.Kind)+" user cannot have the role "+u.Role)
	}
	if u.Phone, e = checkPhone(in.Phone); e != nil {
		return u, e
	}
	if u.Kind == storage.KindCoManaging {
		if u.Username, e = checkUsername(in.Username); e != nil {
			return u, e
		}
	} else if strings.TrimSpace(in.Username) != "" {
		return u, errField("username", "only co_managing users have a username")
	}
	u.OrganizationID = strings.TrimSpace(in.Organization)
	if u.Kind == storage.KindEmployee && u.OrganizationID != "" {
		return u, errField("organization", "employees belong to no organization")
	}
	if u.Kind != storage.KindEmployee && u.OrganizationID == "" {
		return u, errField("organization", "is required for "+string(u.Kind)+" users")
	}
	if in.Active != nil {
		u.Active = *in.Active
	}
	u.SSO = in.SSO != nil && *in.SSO
	u.PasswordResetDisabled = in.PasswordResetDisabled != nil && *in.PasswordResetDisabled
	u.Notifications = defaultNotifications(u.Role)
	if in.Notifications != nil {
		if u.Notifications, e = checkNotifications(*in.Notifications, u.Role); e != nil {
			return u, e
		}
	}

	// Rank, then what needs the store.
	if u.Role == policy.Owner {
		return u, errForbidden("the owner cannot be created through the API")
	}
	if !h.mayAssign(a, u.Role) {
		return u, errRank(u.Role)
	}
	if !h.mayCreateKind(a, u.Kind) {
		return u, errForbidden("you may create only your organization's users")
	}
	if u.OrganizationID != "" {
		if scope := a.orgScope(); scope != "" && u.OrganizationID != scope {
			return u, errField("organization", "no such organization")
		}
		o, err := h.store.GetOrganization(ctx, a.partner.ID, u.OrganizationID)
		if err != nil {
			return u, notFoundAs(err, errField("organization", "no such organization"))
		}
		if u.Kind == storage.KindCoManaging && !o.CoManagement {
			return u, errField("organization", "co-managing users need an organization with co-management")
		}
	}
	if u.SSO {
		if err := h.requireConnection(ctx, a); err != nil {
			return u, err
		}
	}
	if err := h.unique(ctx, a, u.Email, u.Username); err != nil {
		return u, err
	}
	return u, nil
}

// unique refuses a taken email (any partner) or a taken username (this
// partner), naming which.
func (h *Handler) unique(ctx context.Context, a *actor, email, username string) error {
	if email != "" {
		if _, err := h.store.GetUserByEmail(ctx, email); err == nil {
			return errDuplicate("email")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	if username != "" {
		if _, err := h.store.GetUserByUsername(ctx, a.partner.ID, username); err == nil {
			return errDuplicate("username")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

// requireConnection: sso needs a connection of the partner to sign in at.
func (h *Handler) requireConnection(ctx context.Context, a *actor) error {
	cs, err := h.store.ListConnections(ctx, a.partner.ID)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return errField("sso", "the partner has no connection to sign in through")
	}
	return nil
}

// invite sends the new user their invitation and records how it went.
// Without a mailer the audit entry of the creation is the record.
func (h *Handler) invite(ctx context.Context, a *actor, u storage.User) {
	if h.cfg.Invites == nil {
		return
	}
	result := "sent"
	if err := h.cfg.Invites.Invite(ctx, u); err != nil {
		h.log.WarnContext(ctx, "admin: invitation not sent", "user", u.ID, "err", err)
		result = "failed"
	}
	if err := h.audit(ctx, h.store, a, "user.invite", u.ID, map[string]any{"target_email": u.Email, "result": result}); err != nil {
		h.log.WarnContext(ctx, "admin: audit of invitation failed", "user", u.ID, "err", err)
	}
}
