package admin

import (
	"context"
	"slices"
	"time"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// userView is a user as the API shows it (INTERFACE.md section 8).
type userView struct {
	ID                    string                `json:"id"`
	Partner               string                `json:"partner"`
	Email                 string                `json:"email"`
	Name                  string                `json:"name"`
	Kind                  string                `json:"kind"`
	Role                  string                `json:"role"`
	Phone                 string                `json:"phone"`
	Username              string                `json:"username"`
	Organization          string                `json:"organization"`
	Active                bool                  `json:"active"`
	SSO                   bool                  `json:"sso"`
	PasswordResetDisabled bool                  `json:"password_reset_disabled"`
	Locked                bool                  `json:"locked"`
	LockedUntil           *time.Time            `json:"locked_until,omitempty"`
	MFA                   mfaView               `json:"mfa"`
	Notifications         storage.Notifications `json:"notifications"`
	// PendingEmail is an address change waiting for its confirmation.
	PendingEmail string    `json:"pending_email,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

type mfaView struct {
	Factors []string `json:"factors"`
	// Required: the user's own sign-in needs a factor (kind, role or
	// partner), pause or not; false for a user who signs in through SSO.
	Required       bool       `json:"required"`
	PausedUntil    *time.Time `json:"paused_until"`
	PauseNextLogin bool       `json:"pause_next_login"`
	PauseReason    string     `json:"pause_reason,omitempty"`
}

// factorOrder is the order factors are listed in.
var factorOrder = []storage.FactorKind{storage.FactorTOTP, storage.FactorWebAuthn, storage.FactorSMS, storage.FactorRecovery}

// factorKinds returns the distinct kinds of ks, in factorOrder.
func factorKinds(ks []storage.FactorKind) []string {
	out := []string{}
	for _, k := range factorOrder {
		if slices.Contains(ks, k) {
			out = append(out, string(k))
		}
	}
	return out
}

// mfaRequired is policy's answer for the user's own sign-in, pause aside.
func mfaRequired(u storage.User, p storage.Partner) bool {
	d := policy.MFARequirement(policy.MFAInput{Kind: string(u.Kind), Role: u.Role,
		PartnerRequiresMFA: p.RequireMFA, Federated: u.SSO})
	return len(d.Reasons) > 0 && !u.SSO
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// view builds the API form of u. It reads u's factor kinds; pending adds
// the address change waiting for confirmation, one ephemeral read.
func (h *Handler) view(ctx context.Context, p storage.Partner, u storage.User, pending bool) (userView, error) {
	kinds, err := h.store.ListFactorKinds(ctx, []string{u.ID})
	if err != nil {
		return userView{}, err
	}
	v := h.viewOf(p, u, kinds[u.ID])
	if pending {
		if pe, err := h.pendingEmail(ctx, u.ID); err == nil {
			v.PendingEmail = pe.Email
		}
	}
	return v, nil
}

// views builds the API form of a page of users with one read of all their
// factor kinds, not one per user.
func (h *Handler) views(ctx context.Context, p storage.Partner, users []storage.User) ([]userView, error) {
	out := make([]userView, 0, len(users))
	if len(users) == 0 {
		return out, nil
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	kinds, err := h.store.ListFactorKinds(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		out = append(out, h.viewOf(p, u, kinds[u.ID]))
	}
	return out, nil
}

// viewOf is the API form of u with the given factor kinds.
func (h *Handler) viewOf(p storage.Partner, u storage.User, kinds []storage.FactorKind) userView {
	now := h.now()
	v := userView{
		ID: u.ID, Partner: u.PartnerID, Email: u.Email, Name: u.Name, Kind: string(u.Kind), Role: u.Role,
		Phone: u.Phone, Username: u.Username, Organization: u.OrganizationID,
		Active: u.Active, SSO: u.SSO, PasswordResetDisabled: u.PasswordResetDisabled,
		Locked: u.Locked(now),
		MFA: mfaView{
			Factors:        factorKinds(kinds),
			Required:       mfaRequired(u, p),
			PauseNextLogin: u.MFAPauseNextLogin,
		},
		Notifications: fitNotifications(u.Notifications, u.Role),
		CreatedAt:     u.CreatedAt.UTC(),
	}
	if v.Locked {
		v.LockedUntil = timePtr(u.LockedUntil)
	}
	if u.MFAPauseUntil.After(now) {
		v.MFA.PausedUntil = timePtr(u.MFAPauseUntil)
	}
	if v.MFA.PauseNextLogin || v.MFA.PausedUntil != nil {
		v.MFA.PauseReason = u.MFAPauseReason
	}
	return v
}

// organizationView is an organization as the API shows it.
type organizationView struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	CoManagement bool      `json:"co_management"`
	SaaSAccount  string    `json:"saas_account"`
	Mapped       bool      `json:"mapped"`
	CreatedAt    time.Time `json:"created_at"`
}

func orgView(o storage.Organization) organizationView {
	return organizationView{ID: o.ID, Name: o.Name, CoManagement: o.CoManagement,
		SaaSAccount: o.SaaSAccount, Mapped: o.SaaSAccount != "", CreatedAt: o.CreatedAt.UTC()}
}

// connectionView is a connection as the API shows it: never its secret,
// only whether it has one.
type connectionView struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Type            string    `json:"type"`
	Issuer          string    `json:"issuer,omitempty"`
	ClientID        string    `json:"client_id,omitempty"`
	ClientSecretSet bool      `json:"client_secret_set"`
	MetadataURL     string    `json:"metadata_url,omitempty"`
	Metadata        string    `json:"metadata,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

func connView(c storage.Connection) connectionView {
	return connectionView{ID: c.ID, Name: c.Name, Type: c.Type, Issuer: c.Issuer, ClientID: c.ClientID,
		ClientSecretSet: len(c.ClientSecret) > 0, MetadataURL: c.MetadataURL, Metadata: c.Metadata,
		CreatedAt: c.CreatedAt.UTC()}
}

// auditView is one audit event as the API shows it.
type auditView struct {
	ID      string         `json:"id"`
	Time    time.Time      `json:"time"`
	Actor   string         `json:"actor"`
	Action  string         `json:"action"`
	Target  string         `json:"target"`
	IP      string         `json:"ip"`
	Details map[string]any `json:"details"`
}

func eventView(e storage.AuditEvent) auditView {
	d := e.Details
	if d == nil {
		d = map[string]any{}
	}
	return auditView{ID: e.ID, Time: e.Time.UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target, IP: e.IP, Details: d}
}
