package saml

import (
	"cmp"
	"context"
	"net/url"
	"slices"

	"gatehouse/provider/policy"
)

// Launch is one SAML service a user may open from /account.
type Launch struct {
	EntityID string
	Name     string
	URL      string // the IdP-initiated sign-in link
}

// Services returns the SAML services that role may use, by name, each with
// its IdP-initiated sign-in link. It lists the store's service providers
// (Config.ServiceProviders); on a store error it logs and returns none,
// since the account page is still useful without them.
func (p *IdP) Services(ctx context.Context, role string) []Launch {
	if p.cfg.ServiceProviders == nil {
		return nil
	}
	sps, err := p.cfg.ServiceProviders.ListServiceProviders(ctx)
	if err != nil {
		p.log.Warn("saml: listing service providers for the account page", "err", err)
		return nil
	}
	var out []Launch
	for _, sp := range sps {
		if !policy.RoleAllowed(sp.AllowedRoles, role) {
			continue
		}
		name := sp.Name
		if name == "" {
			name = sp.EntityID
		}
		out = append(out, Launch{
			EntityID: sp.EntityID,
			Name:     name,
			URL:      p.issuer + "/saml/idp-initiated?sp=" + url.QueryEscape(sp.EntityID),
		})
	}
	slices.SortFunc(out, func(a, b Launch) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
