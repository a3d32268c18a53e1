package policy

import "time"

// Reasons a second factor is required, as MFADecision.Reasons names them.
const (
	ReasonKindCoManaging = "kind co_managing"
	ReasonRoleCoManaging = "role co_managing"
	ReasonPartner        = "partner require_mfa"
	ReasonRelyingParty   = "relying party acr_values=mfa"
)

// coManaging is both a user kind and a role name (INTERFACE.md section 6):
// every co-managing user signs in with a second factor.
const coManaging = "co_managing"

// MFAInput is everything MFARequirement looks at, as plain values so that
// policy does not depend on storage. The sign-in flow fills it at the
// second-factor step; the admin API fills it to explain a user's policy.
type MFAInput struct {
	Kind string // the user's kind: employee, client, org_user, co_managing
	Role string // the user's role name

	PartnerRequiresMFA bool // the user's partner has require_mfa
	RPRequiresMFA      bool // the relying party asked with acr_values=mfa
	// Federated is a sign-in through the partner's own connection: the
	// upstream identity provider answers for its factors, so none is asked.
	Federated bool

	// The admin's pause on the user: for their next sign-in, or until a time.
	PauseNextLogin bool
	PauseUntil     time.Time

	Now time.Time
	// EnrolledFactors counts the user's usable second factors.
	EnrolledFactors int
}

// MFADecision is MFARequirement's answer for one sign-in.
type MFADecision struct {
	// Required: this sign-in must present a second factor.
	Required bool
	// Reasons lists every rule that asks for a factor (Reason* constants),
	// including those a pause or a federated sign-in set aside, so that an
	// explanation can say "required by kind co_managing, paused until ...".
	Reasons []string
	// Paused: a pause set aside a requirement of kind, role or partner.
	Paused bool
	// PauseConsumed: the pause was for the next sign-in only and this
	// sign-in used it up; the caller clears it once the sign-in succeeds.
	PauseConsumed bool
	// MustEnrol: a factor is required and the user has none, so the flow
	// enrols one (after an admin's reset, or at first sign-in).
	MustEnrol bool
}

// MFARequirement decides whether a sign-in needs a second factor
// (INTERFACE.md sections 6 and 7):
//
//   - a factor is required for co-managing users (kind or role), for every
//     user of a partner with require_mfa, and whenever the relying party
//     asks with acr_values=mfa;
//   - an admin's pause (next sign-in, or until a time) sets aside the
//     requirements of kind, role and partner, never the relying party's;
//     a timed pause is preferred to a next-login pause, which then stays
//     for a later sign-in;
//   - a sign-in through the partner's connection needs none;
//   - a required factor with none enrolled must be enrolled first.
//
// The sign-in flow calls it at the second-factor step; its signature is
// stable.
func MFARequirement(in MFAInput) MFADecision {
	var d MFADecision
	var pausable bool
	if in.Kind == coManaging {
		d.Reasons, pausable = append(d.Reasons, ReasonKindCoManaging), true
	} else if in.Role == coManaging {
		d.Reasons, pausable = append(d.Reasons, ReasonRoleCoManaging), true
	}
	if in.PartnerRequiresMFA {
		d.Reasons, pausable = append(d.Reasons, ReasonPartner), true
	}
	if in.RPRequiresMFA {
		d.Reasons = append(d.Reasons, ReasonRelyingParty)
	}
	if in.Federated || len(d.Reasons) == 0 {
		return d
	}
	if in.RPRequiresMFA {
		// The relying party's demand outlives any pause, and a next-login
		// pause that skipped nothing is kept for a later sign-in.
		d.Required = true
	} else if pausable {
		switch {
		case in.PauseUntil.After(in.Now):
			d.Paused = true
		case in.PauseNextLogin:
			d.Paused, d.PauseConsumed = true, true
		default:
			d.Required = true
		}
	}
	d.MustEnrol = d.Required && in.EnrolledFactors == 0
	return d
}

// PauseActive reports whether an admin's pause is in force at now.
func PauseActive(nextLogin bool, until, now time.Time) bool {
	return nextLogin || until.After(now)
}

// FactorMandatory reports whether a user of kind must keep a second factor
// (co-managing users, and every user of a partner with require_mfa).
func FactorMandatory(kind string, partnerRequires bool) bool {
	return kind == coManaging || partnerRequires
}

// CanRemoveFactor reports whether a user may remove one of their own
// factors, leaving remaining factors enrolled (recovery codes not counted):
// a mandatory factor cannot be removed down to none. An admin's reset is
// not bound by this; it makes the user enrol again at their next sign-in.
func CanRemoveFactor(kind string, partnerRequires bool, remaining int) bool {
	return !FactorMandatory(kind, partnerRequires) || remaining > 0
}
