package login

import (
	"encoding/json"
	"time"
)

// Protocols that park sign-in flows.
const (
	ProtocolOIDC = "oidc"
	ProtocolSAML = "saml"
)

// Errors a finished flow can carry back to its protocol adapter, named as
// OpenID Connect names them; the SAML adapter maps them to SAML statuses.
const (
	ErrAccessDenied        = "access_denied"        // role not allowed, consent denied, user refused
	ErrLoginRequired       = "login_required"       // passive request and no usable session
	ErrConsentRequired     = "consent_required"     // passive request and consent missing
	ErrInteractionRequired = "interaction_required" // passive request and a step needs a page
)

// Flow is one sign-in in progress. A protocol adapter parks its request in
// a Flow and hands it to the Service; the steps move it along; the adapter
// takes it back at ReturnTo once Done. Flows live in the ephemeral store and
// are bound to the browser that started them by a cookie.
type Flow struct {
	ID       string `json:"id"`
	Protocol string `json:"protocol"` // ProtocolOIDC or ProtocolSAML
	RP       string `json:"rp"`       // OIDC client id or SAML SP entity id
	RPName   string `json:"rp_name"`  // shown on pages
	// ReturnTo is the path (and query) the browser is sent to when the flow
	// ends; the Service appends flow=ID.
	ReturnTo string `json:"return_to"`
	// Request is the adapter's own parked request, opaque to the flow.
	Request json.RawMessage `json:"request,omitempty"`

	LoginHint string `json:"login_hint,omitempty"`
	// ForceLogin asks for a fresh sign-in even with a session (prompt=login,
	// max_age exceeded, SAML ForceAuthn).
	ForceLogin bool `json:"force_login,omitempty"`
	// RequireMFA asks for a second factor whatever policy says
	// (acr_values=mfa); an admin's pause does not skip it.
	RequireMFA bool `json:"require_mfa,omitempty"`
	// Passive forbids any page (prompt=none, SAML IsPassive): if a page
	// would be needed, the flow ends at once with an Err* error.
	Passive bool `json:"passive,omitempty"`
	// Consent is non-nil when the relying party needs the user's consent
	// (an OIDC client that is not first_party).
	Consent *ConsentRequest `json:"consent,omitempty"`
	// AllowedRoles limits which roles may use the relying party; empty: all.
	AllowedRoles []string `json:"allowed_roles,omitempty"`

	// Progress, written by the steps.
	UserID    string            `json:"user_id,omitempty"`
	AMR       []string          `json:"amr,omitempty"`
	AuthTime  time.Time         `json:"auth_time,omitzero"`
	SessionID string            `json:"session_id,omitempty"`
	MFAPaused bool              `json:"mfa_paused,omitempty"` // a pause let this sign-in skip a required factor
	Consented bool              `json:"consented,omitempty"`
	Done      bool              `json:"done,omitempty"`
	Error     string            `json:"error,omitempty"`
	ErrorText string            `json:"error_text,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	StepData  map[string]string `json:"step_data,omitempty"` // scratch space for steps
}

// ConsentRequest is what a relying party asks the user to allow.
type ConsentRequest struct {
	Scopes []string `json:"scopes"`
	// Force shows the consent page even when consent was remembered
	// (prompt=consent).
	Force bool `json:"force,omitempty"`
}

// Session is the SSO session: who signed in, when, how, and which relying
// parties took part. Every later request from any service reuses it.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	AuthTime  time.Time `json:"auth_time"`
	AMR       []string  `json:"amr"`
	ACR       string    `json:"acr"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Participant is one relying party that received this session's identity,
// recorded so that ending the session can tell it. Data is the adapter's
// own (the SAML NameID and SessionIndex, say).
type Participant struct {
	Protocol string          `json:"protocol"`
	RP       string          `json:"rp"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// ACR returns the authentication context class for a set of methods, as
// INTERFACE.md section 7 defines it: fed for a partner's connection, mfa
// after two factors, pwd after a password alone.
func ACR(amr []string) string {
	has := func(m string) bool {
		for _, a := range amr {
			if a == m {
				return true
			}
		}
		return false
	}
	switch {
	case has("fed"):
		return "fed"
	case has("mfa"):
		return "mfa"
	default:
		return "pwd"
	}
}
