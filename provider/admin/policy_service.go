package admin

import (
	"context"
	"slices"
	"strings"
	"time"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// userPolicy is a user's effective sign-in policy, each part with the
// reason for it, as GET .../users/{id}/policy and the console show it.
type userPolicy struct {
	User          string           `json:"user"`
	Active        bool             `json:"active"`
	SSO           ssoPolicy        `json:"sso"`
	PasswordReset allowedPolicy    `json:"password_reset"`
	MFA           mfaPolicy        `json:"mfa"`
	Locked        lockPolicy       `json:"locked"`
	Services      []policy.Service `json:"services"`
}

type ssoPolicy struct {
	Required   bool           `json:"required"`
	Connection *connectionRef `json:"connection"`
	Reason     string         `json:"reason"`
}

type connectionRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

type allowedPolicy struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
}

type mfaPolicy struct {
	// Required: the user's next sign-in asks for a second factor (unless a
	// relying party asks with acr_values=mfa, which always gets one).
	Required bool `json:"required"`
	// Reasons: the rules that ask for one (policy.Reason*).
	Reasons        []string   `json:"reasons"`
	Paused         bool       `json:"paused"`
	PausedUntil    *time.Time `json:"paused_until"`
	PauseNextLogin bool       `json:"pause_next_login"`
	PauseReason    string     `json:"pause_reason,omitempty"`
	Factors        []string   `json:"factors"`
	MustEnrol      bool       `json:"must_enrol"`
	Reason         string     `json:"reason"`
}

type lockPolicy struct {
	Locked bool       `json:"locked"`
	Until  *time.Time `json:"until"`
	Reason string     `json:"reason"`
}

// lockedForever is where a lockout that lasts until an admin unlocks
// begins (storage.User.LockedUntil uses a far-future time for it).
var lockedForever = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)

// policyOf explains how the user signs in and what they may open.
func (h *Handler) policyOf(ctx context.Context, a *actor, id string) (userPolicy, error) {
	u, err := h.target(ctx, a, id)
	if err != nil {
		return userPolicy{}, err
	}
	conns, err := h.store.ListConnections(ctx, a.partner.ID)
	if err != nil {
		return userPolicy{}, err
	}
	factors, err := h.store.ListFactors(ctx, u.ID)
	if err != nil {
		return userPolicy{}, err
	}
	services, err := h.services(ctx)
	if err != nil {
		return userPolicy{}, err
	}
	now := h.now()
	out := userPolicy{User: u.ID, Active: u.Active, Services: policy.AccessibleServices(u.Role, services)}

	// SSO: the partner's connection (the first, by id, when it has several).
	slices.SortFunc(conns, func(x, y storage.Connection) int { return strings.Compare(x.ID, y.ID) })
	switch {
	case u.SSO && len(conns) > 0:
		c := conns[0]
		out.SSO = ssoPolicy{Required: true, Connection: &connectionRef{ID: c.ID, Name: c.Name, Type: c.Type},
			Reason: "sso is on: the user signs in through the partner's connection " + c.ID}
	case u.SSO:
		out.SSO = ssoPolicy{Required: true, Reason: "sso is on but the partner has no connection: the user cannot sign in"}
	default:
		out.SSO = ssoPolicy{Reason: "sso is off: the user signs in with a password"}
	}

	switch {
	case u.SSO:
		out.PasswordReset = allowedPolicy{Reason: "the user signs in through SSO; their password is the connection's business"}
	case u.PasswordResetDisabled:
		out.PasswordReset = allowedPolicy{Reason: "password_reset_disabled is on: only an admin can unlock the account"}
	default:
		out.PasswordReset = allowedPolicy{Allowed: true, Reason: "the user may reset their password from the sign-in page"}
	}

	enrolled := 0
	var kinds []storage.FactorKind
	for _, f := range factors {
		if f.Kind != storage.FactorRecovery {
			enrolled++
		}
		kinds = append(kinds, f.Kind)
	}
	d := policy.MFARequirement(policy.MFAInput{
		Kind: string(u.Kind), Role: u.Role, PartnerRequiresMFA: a.partner.RequireMFA,
		Federated: u.SSO && len(conns) > 0, PauseNextLogin: u.MFAPauseNextLogin, PauseUntil: u.MFAPauseUntil,
		Now: now, EnrolledFactors: enrolled,
	})
	out.MFA = mfaPolicy{Required: d.Required, Reasons: d.Reasons, Paused: d.Paused,
		PauseNextLogin: u.MFAPauseNextLogin, MustEnrol: d.MustEnrol, Factors: factorKinds(kinds)}
	if out.MFA.Reasons == nil {
		out.MFA.Reasons = []string{}
	}
	if u.MFAPauseUntil.After(now) {
		out.MFA.PausedUntil = timePtr(u.MFAPauseUntil)
	}
	if out.MFA.PauseNextLogin || out.MFA.PausedUntil != nil {
		out.MFA.PauseReason = u.MFAPauseReason
	}
	out.MFA.Reason = mfaReason(d, u, out.MFA.PausedUntil)

	if u.Locked(now) {
		out.Locked = lockPolicy{Locked: true, Until: timePtr(u.LockedUntil),
			Reason: "locked after repeated failed sign-ins until " + u.LockedUntil.UTC().Format(time.RFC3339)}
		if !u.LockedUntil.Before(lockedForever) {
			out.Locked.Until = nil
			out.Locked.Reason = "locked after repeated failed sign-ins until an admin unlocks the account"
		}
	} else {
		out.Locked.Reason = "not locked"
	}
	return out, nil
}

func mfaReason(d policy.MFADecision, u storage.User, until *time.Time) string {
	const rp = "; a relying party that asks with acr_values=mfa always gets one"
	switch {
	case len(d.Reasons) == 0:
		return "no second factor is required" + rp
	case u.SSO && !d.Required && !d.Paused:
		return "the user signs in through the partner's connection, which answers for second factors"
	case d.Paused && until != nil:
		return "required by " + strings.Join(d.Reasons, ", ") + ", but paused until " + until.Format(time.RFC3339) + rp
	case d.Paused:
		return "required by " + strings.Join(d.Reasons, ", ") + ", but paused for the next sign-in" + rp
	case d.MustEnrol:
		return "required by " + strings.Join(d.Reasons, ", ") + "; none is enrolled, so the user enrols one at the next sign-in"
	}
	return "required by " + strings.Join(d.Reasons, ", ")
}

// services lists every relying party, OIDC clients then SAML service
// providers, each by name.
func (h *Handler) services(ctx context.Context) ([]policy.Service, error) {
	clients, err := h.store.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	sps, err := h.store.ListServiceProviders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]policy.Service, 0, len(clients)+len(sps))
	for _, c := range clients {
		out = append(out, policy.Service{Type: "oidc", ID: c.ID, Name: c.Name, AllowedRoles: c.AllowedRoles})
	}
	for _, sp := range sps {
		out = append(out, policy.Service{Type: "saml", ID: sp.EntityID, Name: sp.Name, AllowedRoles: sp.AllowedRoles})
	}
	slices.SortStableFunc(out, func(x, y policy.Service) int {
		if x.Type != y.Type {
			return strings.Compare(x.Type, y.Type)
		}
		return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
	})
	return out, nil
}
