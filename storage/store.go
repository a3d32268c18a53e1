package storage

import (
	"context"
	"time"
)

// Page asks for one page of a list. Token is the opaque NextPageToken of the
// previous page; Limit 0 means the backend's default (50), capped at 500.
type Page struct {
	Token string
	Limit int
}

// UserFilter narrows ListUsers. Empty fields do not filter.
type UserFilter struct {
	PartnerID      string
	Kind           UserKind
	Role           string
	OrganizationID string
	Query          string // case-insensitive substring of email, name or username
}

// OrganizationFilter narrows ListOrganizations.
type OrganizationFilter struct {
	// Mapped, when set, keeps only organizations with (true) or without
	// (false) a SaaS account.
	Mapped *bool
}

// Directory holds partners, their organizations, users, factors and consents.
//
// Update functions receive the stored record and return the one to store;
// the backend runs them atomically (in a transaction), so concurrent updates
// never lose a write. Returning an error from fn aborts without writing.
type Directory interface {
	CreatePartner(ctx context.Context, p Partner) error
	GetPartner(ctx context.Context, id string) (Partner, error)
	ListPartners(ctx context.Context) ([]Partner, error)
	UpdatePartner(ctx context.Context, id string, fn func(Partner) (Partner, error)) (Partner, error)

	CreateOrganization(ctx context.Context, o Organization) error
	// GetOrganization returns ErrNotFound for another partner's organization.
	GetOrganization(ctx context.Context, partnerID, id string) (Organization, error)
	ListOrganizations(ctx context.Context, partnerID string, f OrganizationFilter) ([]Organization, error)
	UpdateOrganization(ctx context.Context, partnerID, id string, fn func(Organization) (Organization, error)) (Organization, error)
	// DeleteOrganization fails with ErrConflict while users belong to it.
	DeleteOrganization(ctx context.Context, partnerID, id string) error

	// CreateUser returns ErrAlreadyExists for a taken email, or a taken
	// username within the partner.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error) // case-insensitive
	GetUserByUsername(ctx context.Context, partnerID, username string) (User, error)
	// ListUsers orders by email and returns the token of the next page ("" at the end).
	ListUsers(ctx context.Context, f UserFilter, p Page) ([]User, string, error)
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
	// DeleteUser removes the user with their factors and consents.
	DeleteUser(ctx context.Context, id string) error

	CreateFactor(ctx context.Context, f Factor) error
	ListFactors(ctx context.Context, userID string) ([]Factor, error)
	// ListFactorKinds returns the distinct kinds of factor each of the
	// given users has enrolled, in one round trip however many users (a
	// list page shows them without reading every user's factors). Users
	// with no factor, and unknown users, are absent from the map; the order
	// of the kinds is not specified.
	ListFactorKinds(ctx context.Context, userIDs []string) (map[string][]FactorKind, error)
	UpdateFactor(ctx context.Context, id string, fn func(Factor) (Factor, error)) (Factor, error)
	// DeleteFactor returns ErrNotFound when the factor is gone, so a
	// single-use factor (a recovery code) can be consumed exactly once.
	DeleteFactor(ctx context.Context, id string) error
	// DeleteFactors removes the user's factors of the given kinds (all
	// kinds when none is given) and says how many went.
	DeleteFactors(ctx context.Context, userID string, kinds ...FactorKind) (int, error)

	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	PutConsent(ctx context.Context, c Consent) error
}

// Connections holds partners' upstream identity providers.
type Connections interface {
	CreateConnection(ctx context.Context, c Connection) error
	GetConnection(ctx context.Context, id string) (Connection, error)
	ListConnections(ctx context.Context, partnerID string) ([]Connection, error)
	UpdateConnection(ctx context.Context, id string, fn func(Connection) (Connection, error)) (Connection, error)
	DeleteConnection(ctx context.Context, id string) error
}

// RelyingParties holds OIDC clients and SAML service providers.
type RelyingParties interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, error)) (Client, error)
	DeleteClient(ctx context.Context, id string) error

	CreateServiceProvider(ctx context.Context, sp ServiceProvider) error
	GetServiceProvider(ctx context.Context, entityID string) (ServiceProvider, error)
	ListServiceProviders(ctx context.Context) ([]ServiceProvider, error)
	UpdateServiceProvider(ctx context.Context, entityID string, fn func(ServiceProvider) (ServiceProvider, error)) (ServiceProvider, error)
	DeleteServiceProvider(ctx context.Context, entityID string) error
}

// Keys holds signing keys.
type Keys interface {
	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys returns every key, newest first.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	UpdateKey(ctx context.Context, id string, fn func(SigningKey) (SigningKey, error)) (SigningKey, error)
	DeleteKey(ctx context.Context, id string) error
}

// Tokens holds refresh tokens and their families.
type Tokens interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshToken(ctx context.Context, signature string) (RefreshToken, error)
	// UseRefreshToken marks an active token used, atomically: of several
	// concurrent callers exactly one succeeds and the rest get ErrConflict,
	// as does any caller once the token is used or inactive.
	UseRefreshToken(ctx context.Context, signature string, at time.Time) (RefreshToken, error)
	// RevokeRefreshToken makes one token inactive.
	RevokeRefreshToken(ctx context.Context, signature string) error
	// Revoke* make every matching token inactive and say how many changed.
	RevokeRefreshFamily(ctx context.Context, familyID string) (int, error)
	RevokeRefreshTokensOfUser(ctx context.Context, userID string) (int, error)
	RevokeRefreshTokensOfSession(ctx context.Context, sessionID string) (int, error)
	// DeleteExpiredRefreshTokens removes tokens that expired before t.
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int, error)
}

// Audit holds the audit log.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns a partner's events, newest first.
	ListAudit(ctx context.Context, partnerID string, p Page) ([]AuditEvent, string, error)
}

// Store is the durable store: everything that must survive a restart.
type Store interface {
	Directory
	Connections
	RelyingParties
	Keys
	Tokens
	Audit

	// InTx runs fn in one transaction: every write fn makes through tx lands,
	// or none does. fn must not use the outer Store.
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Ping checks the backend is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}
