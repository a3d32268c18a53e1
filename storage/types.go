package storage

import "time"

// Partner is an MSP company: the tenant every other record hangs off.
type Partner struct {
	ID           string // [a-z0-9-]
	Name         string
	Domain       string // co-managing users sign in as username@Domain
	PrimaryEmail string
	RequireMFA   bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Organization is one of a partner's customer companies.
type Organization struct {
	ID           string
	PartnerID    string
	Name         string
	CoManagement bool
	SaaSAccount  string // empty: not mapped to a SaaS backup account
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserKind says what relation a user has to their partner.
type UserKind string

const (
	KindEmployee   UserKind = "employee"
	KindClient     UserKind = "client"
	KindOrgUser    UserKind = "org_user"
	KindCoManaging UserKind = "co_managing"
)

// Valid reports whether k is one of the known kinds.
func (k UserKind) Valid() bool {
	switch k {
	case KindEmployee, KindClient, KindOrgUser, KindCoManaging:
		return true
	}
	return false
}

// Notifications are a user's mail preferences.
type Notifications struct {
	Error     bool   `json:"error"`
	Invoice   bool   `json:"invoice"`
	General   bool   `json:"general"`
	Frequency string `json:"frequency"` // immediately | daily | weekly | monthly
}

// User is anyone who signs in: owner, employee, client, organization user or
// co-managing user.
type User struct {
	ID             string
	PartnerID      string
	Email          string // stored lower-cased; unique across all partners
	Name           string
	Kind           UserKind
	Role           string
	Phone          string // E.164
	Username       string // co_managing only; unique within the partner
	OrganizationID string // client, org_user and co_managing

	PasswordHash          string // PHC string; empty: no password set yet
	Active                bool
	SSO                   bool
	PasswordResetDisabled bool

	// LockedUntil is the end of a lockout; the zero time means not locked.
	// A lockout that lasts until an admin unlocks uses a far-future time.
	LockedUntil time.Time

	// A second-factor pause set by an admin: for the next sign-in only, or
	// until a time. Both cleared when an admin ends the pause.
	MFAPauseNextLogin bool
	MFAPauseUntil     time.Time
	MFAPauseReason    string

	// UpstreamSubject is the subject at the partner's connection, stored
	// after the first federated sign-in matched this user by email.
	UpstreamSubject string

	Notifications Notifications

	// PasswordChangedAt lets sessions and tokens issued before a password
	// change be recognised as stale.
	PasswordChangedAt time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Locked reports whether the user is locked out at now.
func (u User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// FactorKind names a second factor.
type FactorKind string

const (
	FactorTOTP     FactorKind = "totp"
	FactorWebAuthn FactorKind = "webauthn"
	FactorRecovery FactorKind = "recovery" // one row per unused recovery code
	FactorSMS      FactorKind = "sms"
)

// Factor is one enrolled second factor.
type Factor struct {
	ID     string
	UserID string
	Kind   FactorKind
	Name   string // user-chosen label (passkeys)
	// Secret holds what the factor needs to verify: the encrypted TOTP
	// secret, the WebAuthn credential (JSON), or a recovery code's hash.
	Secret     []byte
	Counter    uint32 // WebAuthn sign counter
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Connection is a partner's own upstream identity provider.
type Connection struct {
	ID           string
	PartnerID    string
	Type         string // oidc | saml
	Name         string
	Issuer       string // oidc
	ClientID     string // oidc
	ClientSecret []byte // oidc; encrypted at rest
	MetadataURL  string // saml
	Metadata     string // saml, inline
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Client is an OpenID Connect relying party.
type Client struct {
	ID                      string
	Name                    string
	SecretHash              string // PHC string; empty: public client
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	BackchannelLogoutURI    string
	GrantTypes              []string
	Scopes                  []string
	TokenEndpointAuthMethod string
	JWKSURI                 string
	AllowedRoles            []string // empty: every role
	FirstParty              bool
	IDTokenAlg              string // RS256 | ES256
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// Public reports whether the client has no secret.
func (c Client) Public() bool {
	return c.SecretHash == "" && c.TokenEndpointAuthMethod != "private_key_jwt"
}

// ServiceProvider is a SAML relying party.
type ServiceProvider struct {
	EntityID     string
	Name         string
	Metadata     string // inline XML, or fetched from MetadataURL and cached here
	MetadataURL  string
	AllowedRoles []string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SigningKey is a token-signing key pair. The private key is PKCS#8 DER,
// encrypted at rest by the caller before it reaches the store.
type SigningKey struct {
	ID         string // the JWK kid
	Alg        string // RS256 | ES256
	PrivateKey []byte
	Active     bool
	CreatedAt  time.Time
	// RetiredAt is when a newer key replaced this one; the key keeps
	// verifying until every token it signed has expired.
	RetiredAt time.Time
}

// RefreshToken is one refresh token of a family. A family is every token
// that descends from one authorization (fosite's request ID).
type RefreshToken struct {
	Signature string // the token's signature; never the token itself
	FamilyID  string
	ClientID  string
	UserID    string
	SessionID string // the SSO session it was issued in
	Data      []byte // the serialised request the token stands for
	Active    bool
	UsedAt    time.Time // when it was exchanged for a successor
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Consent records that a user let a client have some scopes.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// AuditEvent records one administrative change.
type AuditEvent struct {
	ID        string
	PartnerID string
	Time      time.Time
	Actor     string // the acting user's id (or "system", "seed")
	Action    string // dotted: user.create, mfa.pause, ...
	Target    string // the id of what was changed
	IP        string
	Details   map[string]any
}
