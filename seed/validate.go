package seed

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gatehouse/clients"
	"gatehouse/passwords"
	"gatehouse/provider/policy"
	"gatehouse/storage"
)

var (
	partnerIDRe    = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	orgIDRe        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	connectionIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`) // it appears in URL paths
)

// MaxUsername is the longest co-managing username.
const MaxUsername = 32

// defaultRoles is the role a user of each kind gets when the seed names
// none; employees have no default, their role is a choice.
var defaultRoles = map[storage.UserKind]string{
	storage.KindClient:     "client",
	storage.KindCoManaging: "co_managing",
	storage.KindOrgUser:    "org_admin",
}

// Validate checks f whole against itself, the role catalogue and, when
// existing is not nil, what the store already holds. It returns *Error
// listing every problem, or another error if the store could not be read.
func Validate(ctx context.Context, f *File, existing storage.Store, roles *policy.Catalogue) error {
	_, err := check(ctx, f, existing, roles)
	return err
}

// plan is a validated file, normalised and ready to write.
type plan struct {
	partners    []storage.Partner
	orgs        []storage.Organization
	connections []plannedConnection
	users       []plannedUser
	clients     []plannedClient
	sps         []storage.ServiceProvider
}

type plannedConnection struct {
	c      storage.Connection // ClientSecret left empty
	secret string
}

type plannedUser struct {
	u            storage.User // the fields a seed sets
	password     string
	passwordHash string
	totp         string // canonical base32, "" for none
}

type plannedClient struct {
	c      storage.Client // SecretHash left empty
	secret string
}

type validator struct {
	ctx   context.Context
	store storage.Store // may be nil
	roles *policy.Catalogue
	ps    problems
	err   error // the first backend failure
	plan  plan

	partners map[string]storage.Partner      // in the file
	orgs     map[string]storage.Organization // partner/id, in the file
	conns    map[string]bool                 // partners with a connection in the file
}

func check(ctx context.Context, f *File, st storage.Store, roles *policy.Catalogue) (*plan, error) {
	if roles == nil {
		roles = policy.DefaultCatalogue()
	}
	v := &validator{ctx: ctx, store: st, roles: roles, ps: problems{file: f.Path},
		partners: map[string]storage.Partner{}, orgs: map[string]storage.Organization{}, conns: map[string]bool{}}
	v.checkPartners(f.Partners)
	v.checkOrganizations(f.Organizations)
	v.checkConnections(f.Connections)
	v.checkUsers(f.Users)
	v.checkClients(f.Clients)
	v.checkServiceProviders(f.ServiceProviders)
	if v.err != nil {
		return nil, v.err
	}
	if err := v.ps.err(); err != nil {
		return nil, err
	}
	return &v.plan, nil
}

// stored runs a store lookup, reporting whether the record exists; a
// backend failure is remembered and reads as absent.
func stored[T any](v *validator, get func(storage.Store) (T, error)) (T, bool) {
	var zero T
	if v.store == nil || v.err != nil {
		return zero, false
	}
	t, err := get(v.store)
	if errors.Is(err, storage.ErrNotFound) {
		return zero, false
	}
	if err != nil {
		v.err = fmt.Errorf("seed: reading the store: %w", err)
		return zero, false
	}
	return t, true
}

// partner returns the partner as it will be once the file is applied.
func (v *validator) partner(id string) (storage.Partner, bool) {
	if p, ok := v.partners[id]; ok {
		return p, true
	}
	return stored(v, func(s storage.Store) (storage.Partner, error) { return s.GetPartner(v.ctx, id) })
}

func (v *validator) organization(partnerID, id string) (storage.Organization, bool) {
	if o, ok := v.orgs[partnerID+"/"+id]; ok {
		return o, true
	}
	return stored(v, func(s storage.Store) (storage.Organization, error) { return s.GetOrganization(v.ctx, partnerID, id) })
}

func (v *validator) hasConnection(partnerID string) bool {
	if v.conns[partnerID] {
		return true
	}
	list, _ := stored(v, func(s storage.Store) ([]storage.Connection, error) { return s.ListConnections(v.ctx, partnerID) })
	return len(list) > 0
}

func (v *validator) checkPartners(list []Partner) {
	for i, p := range list {
		e := label("partners", i, "id", p.ID)
		switch {
		case p.ID == "":
			v.ps.add(e, "id", "is required")
			continue
		case !partnerIDRe.MatchString(p.ID):
			v.ps.add(e, "id", "%q must be 1 to 63 of a-z, 0-9 and -", p.ID)
			continue
		}
		if _, dup := v.partners[p.ID]; dup {
			v.ps.add(e, "id", "partner %q appears twice", p.ID)
			continue
		}
		domain := strings.ToLower(strings.TrimSpace(p.Domain))
		if domain != "" && !policy.ValidDomain(domain) {
			v.ps.add(e, "domain", "%q is not a domain name", p.Domain)
		}
		email := normEmail(p.PrimaryEmail)
		if email != "" && !policy.ValidEmail(email) {
			v.ps.add(e, "primary_email", "%q is not an email address", p.PrimaryEmail)
		}
		sp := storage.Partner{ID: p.ID, Name: orDefault(p.Name, p.ID), Domain: domain, PrimaryEmail: email, RequireMFA: p.RequireMFA}
		v.partners[p.ID] = sp
		v.plan.partners = append(v.plan.partners, sp)
	}
}

func (v *validator) checkOrganizations(list []Organization) {
	for i, o := range list {
		e := label("organizations", i, "id", o.ID)
		ok := true
		if o.ID == "" {
			v.ps.add(e, "id", "is required")
			ok = false
		} else if !orgIDRe.MatchString(o.ID) {
			v.ps.add(e, "id", "%q must be 1 to 64 of letters, digits, '.', '_' and '-'", o.ID)
			ok = false
		}
		if !v.knownPartner(e, o.Partner) {
			ok = false
		}
		if !ok {
			continue
		}
		key := o.Partner + "/" + o.ID
		if _, dup := v.orgs[key]; dup {
			v.ps.add(e, "id", "organization %q of partner %q appears twice", o.ID, o.Partner)
			continue
		}
		so := storage.Organization{ID: o.ID, PartnerID: o.Partner, Name: orDefault(o.Name, o.ID),
			CoManagement: o.CoManagement, SaaSAccount: strings.TrimSpace(o.SaaSAccount)}
		v.orgs[key] = so
		v.plan.orgs = append(v.plan.orgs, so)
	}
}

// knownPartner reports whether id names a partner of the file or the
// store, adding the problem when it does not.
func (v *validator) knownPartner(entry, id string) bool {
	if id == "" {
		v.ps.add(entry, "partner", "is required")
		return false
	}
	if _, ok := v.partner(id); !ok {
		if v.err == nil {
			v.ps.add(entry, "partner", "unknown partner %q", id)
		}
		return false
	}
	return true
}

func (v *validator) checkConnections(list []Connection) {
	seen := map[string]bool{}
	for i, c := range list {
		e := label("connections", i, "id", c.ID)
		ok := true
		switch {
		case c.ID == "":
			v.ps.add(e, "id", "is required")
			ok = false
		case !connectionIDRe.MatchString(c.ID):
			v.ps.add(e, "id", "%q must be 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", c.ID)
			ok = false
		case seen[c.ID]:
			v.ps.add(e, "id", "connection %q appears twice", c.ID)
			ok = false
		}
		seen[c.ID] = true
		if !v.knownPartner(e, c.Partner) {
			ok = false
		}
		if ok {
			old, exists := stored(v, func(s storage.Store) (storage.Connection, error) { return s.GetConnection(v.ctx, c.ID) })
			if exists && old.PartnerID != c.Partner {
				v.ps.add(e, "partner", "connection %q belongs to another partner; a connection cannot move", c.ID)
				ok = false
			}
		}
		switch c.Type {
		case "oidc":
			if err := checkIssuer(c.Issuer); err != nil {
				v.ps.add(e, "issuer", "%v", err)
				ok = false
			}
			if c.ClientID == "" {
				v.ps.add(e, "client_id", "is required for an oidc connection")
				ok = false
			}
		case "saml":
			if c.Metadata == "" && c.MetadataURL == "" {
				v.ps.add(e, "metadata_url", "a saml connection needs metadata_url or metadata")
				ok = false
			} else if c.MetadataURL != "" && checkHTTPURL(c.MetadataURL) != nil {
				v.ps.add(e, "metadata_url", "%q is not an http(s) URL", c.MetadataURL)
				ok = false
			}
		case "":
			v.ps.add(e, "type", "is required: oidc or saml")
			ok = false
		default:
			v.ps.add(e, "type", "%q is not oidc or saml", c.Type)
			ok = false
		}
		if !ok {
			continue
		}
		v.conns[c.Partner] = true
		v.plan.connections = append(v.plan.connections, plannedConnection{
			c: storage.Connection{ID: c.ID, PartnerID: c.Partner, Type: c.Type, Name: orDefault(c.Name, c.ID),
				Issuer: c.Issuer, ClientID: c.ClientID, MetadataURL: c.MetadataURL, Metadata: c.Metadata},
			secret: c.ClientSecret,
		})
	}
}

func (v *validator) checkClients(list []Client) {
	seen := map[string]bool{}
	for i, c := range list {
		e := label("clients", i, "id", c.ID)
		sc := storage.Client{
			ID: c.ID, Name: orDefault(c.Name, c.ID),
			RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
			BackchannelLogoutURI: c.BackchannelLogoutURI, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
			TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, JWKSURI: c.JWKSURI,
			AllowedRoles: c.AllowedRoles, FirstParty: c.FirstParty, IDTokenAlg: c.IDTokenAlg,
		}
		// Validation looks at whether there is a secret, not at its hash.
		probe := sc
		if c.Secret != "" {
			probe.SecretHash = "(to be hashed)"
		}
		probe = clients.Defaults(probe)
		ok := true
		if err := clients.ValidateClient(probe); err != nil {
			v.relyingPartyProblem(e, err)
			ok = false
		}
		if c.ID != "" && seen[c.ID] {
			v.ps.add(e, "id", "client %q appears twice", c.ID)
			ok = false
		}
		seen[c.ID] = true
		if !v.knownRoles(e, c.AllowedRoles) {
			ok = false
		}
		if ok {
			sc = probe
			sc.SecretHash = ""
			v.plan.clients = append(v.plan.clients, plannedClient{c: sc, secret: c.Secret})
		}
	}
}

func (v *validator) checkServiceProviders(list []ServiceProvider) {
	seen := map[string]bool{}
	for i, sp := range list {
		e := label("saml_service_providers", i, "entity_id", sp.EntityID)
		ssp := storage.ServiceProvider{EntityID: sp.EntityID, Name: orDefault(sp.Name, sp.EntityID),
			Metadata: sp.Metadata, MetadataURL: sp.MetadataURL, AllowedRoles: sp.AllowedRoles}
		ok := true
		if err := clients.ValidateServiceProvider(ssp); err != nil {
			v.relyingPartyProblem(e, err)
			ok = false
		}
		if sp.EntityID != "" && seen[sp.EntityID] {
			v.ps.add(e, "entity_id", "service provider %q appears twice", sp.EntityID)
			ok = false
		}
		seen[sp.EntityID] = true
		if !v.knownRoles(e, sp.AllowedRoles) {
			ok = false
		}
		if ok {
			v.plan.sps = append(v.plan.sps, ssp)
		}
	}
}

// relyingPartyProblem records a refusal of package clients' validation,
// naming the field when it says which.
func (v *validator) relyingPartyProblem(entry string, err error) {
	var fe *clients.FieldError
	if errors.As(err, &fe) {
		v.ps.add(entry, fe.Field, "%v", fe.Err)
		return
	}
	v.ps.add(entry, "", "%v", err)
}

func (v *validator) knownRoles(entry string, roles []string) bool {
	ok := true
	for j, r := range roles {
		if _, known := v.roles.Lookup(r); !known {
			v.ps.add(entry, fmt.Sprintf("allowed_roles[%d]", j), "unknown role %q", r)
			ok = false
		}
	}
	return ok
}

// canonicalTOTP returns a base32 TOTP secret as stored: upper case, no
// spaces, no padding.
func canonicalTOTP(s string) (string, error) {
	c := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	c = strings.TrimRight(c, "=")
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(c)
	if err != nil {
		return "", errors.New("is not base32 (RFC 4648: A-Z and 2-7)")
	}
	if len(b) < 10 {
		return "", fmt.Errorf("is %d bytes; a TOTP secret needs at least 10 (16 base32 characters)", len(b))
	}
	return c, nil
}

func checkPasswordHash(h string) error {
	if !passwords.Supported(h) {
		return errors.New("is not a PHC hash Gatehouse can verify (argon2id or bcrypt)")
	}
	return nil
}

func checkIssuer(s string) error {
	if s == "" {
		return errors.New("is required for an oidc connection")
	}
	return checkHTTPURL(s)
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
