package federation

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"

	"gatehouse/storage"
)

// idpMetadata returns the connection's IdP metadata: inline, or fetched
// from its URL (with a timeout) and cached while fresh.
func (f *Federation) idpMetadata(ctx context.Context, c storage.Connection) (*saml.EntityDescriptor, error) {
	key := "saml\x00" + cacheKey(c)
	if v, ok := f.cached(key); ok {
		return v.(*saml.EntityDescriptor), nil
	}
	raw, err := f.metadataBytes(ctx, c)
	if err != nil {
		return nil, err
	}
	ed, err := parseIdPMetadata(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: connection %s: %v", errMisconfigured, c.ID, err)
	}
	f.remember(key, ed)
	return ed, nil
}

// metadataBytes reads the connection's metadata: the inline document when
// there is one, else the document at its URL.
func (f *Federation) metadataBytes(ctx context.Context, c storage.Connection) ([]byte, error) {
	if strings.TrimSpace(c.Metadata) != "" {
		return []byte(c.Metadata), nil
	}
	if c.MetadataURL == "" {
		return nil, fmt.Errorf("%w: connection %s has neither metadata nor metadata_url", errMisconfigured, c.ID)
	}
	return f.fetch(ctx, c.MetadataURL)
}

// fetch GETs a document from an upstream provider: with a timeout, at most
// maxDocument bytes, and only a 200 counts.
func (f *Federation) fetch(ctx context.Context, rawURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMisconfigured, err)
	}
	res, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &statusError{url: rawURL, status: res.StatusCode}
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxDocument+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("%s is larger than %d bytes", rawURL, maxDocument)
	}
	return b, nil
}

// statusError is a non-200 answer to fetch.
type statusError struct {
	url    string
	status int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d", e.url, e.status)
}

// parseIdPMetadata reads an EntityDescriptor, or the first IdP of an
// EntitiesDescriptor, and insists on an IDPSSODescriptor.
func parseIdPMetadata(raw []byte) (*saml.EntityDescriptor, error) {
	if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("metadata is not well-formed XML: %v", err)
	}
	var ed saml.EntityDescriptor
	err := xml.Unmarshal(raw, &ed)
	if err != nil {
		var all saml.EntitiesDescriptor
		if xml.Unmarshal(raw, &all) != nil {
			return nil, fmt.Errorf("metadata is not an EntityDescriptor: %v", err)
		}
		found := false
		for _, e := range all.EntityDescriptors {
			if len(e.IDPSSODescriptors) > 0 {
				ed, found = e, true
				break
			}
		}
		if !found {
			return nil, errors.New("metadata describes no identity provider (no IDPSSODescriptor)")
		}
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return nil, errors.New("metadata describes no identity provider (no IDPSSODescriptor)")
	}
	if ed.EntityID == "" {
		return nil, errors.New("metadata has no entityID")
	}
	return &ed, nil
}

// serviceProvider is crewjam's service provider for a connection: entity
// ID ISSUER/federation/ID/metadata, ACS ISSUER/federation/ID/acs. The
// active RS256 key signs AuthnRequests; without Keys they go unsigned.
func (f *Federation) serviceProvider(c storage.Connection, idp *saml.EntityDescriptor) (*saml.ServiceProvider, error) {
	entityID := f.metadataURL(c.ID)
	mdURL, err := url.Parse(entityID)
	if err != nil {
		return nil, err
	}
	acsURL, err := url.Parse(f.acsURL(c.ID))
	if err != nil {
		return nil, err
	}
	sp := &saml.ServiceProvider{
		EntityID:          entityID,
		MetadataURL:       *mdURL,
		AcsURL:            *acsURL,
		IDPMetadata:       idp,
		HTTPClient:        f.client,
		AuthnNameIDFormat: saml.UnspecifiedNameIDFormat,
		// An assertion must name this service provider as its audience;
		// crewjam's default also accepts one with no audience at all.
		ValidateAudienceRestriction: func(a *saml.Assertion) error {
			if a.Conditions != nil {
				for _, ar := range a.Conditions.AudienceRestrictions {
					if ar.Audience.Value == entityID {
						return nil
					}
				}
			}
			return fmt.Errorf("assertion AudienceRestriction does not name %q", entityID)
		},
	}
	if f.cfg.Keys != nil {
		if k, err := f.cfg.Keys.Active("RS256"); err == nil {
			if rk, ok := k.Signer.(*rsa.PrivateKey); ok && k.Certificate != nil {
				sp.Key, sp.Certificate = rk, k.Certificate
				sp.SignatureMethod = dsig.RSASHA256SignatureMethod
			}
		}
	}
	return sp, nil
}

// startSAML parks the trip and returns where the browser goes: the IdP's
// HTTP-Redirect SSO endpoint with a (signed) AuthnRequest. The request ID
// is bound to the flow, so that the Response must answer this request.
func (f *Federation) startSAML(ctx context.Context, t trip) (string, error) {
	idp, err := f.idpMetadata(ctx, t.conn)
	if err != nil {
		return "", err
	}
	sp, err := f.serviceProvider(t.conn, idp)
	if err != nil {
		return "", err
	}
	dest := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if dest == "" {
		return "", fmt.Errorf("%w: %s has no HTTP-Redirect SingleSignOnService", errMisconfigured, idp.EntityID)
	}
	if t.again {
		force := true
		sp.ForceAuthn = &force
	}
	req, err := sp.MakeAuthenticationRequest(dest, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", err
	}
	state, err := f.putState(ctx, pending{
		Type:         TypeSAML,
		ConnectionID: t.conn.ID,
		FlowID:       t.flow.ID,
		UserID:       t.user.ID,
		RequestID:    req.ID,
	}, f.stateTTL(t.flow.ExpiresAt))
	if err != nil {
		return "", err
	}
	// The state is base64url: it needs no escaping in RelayState, which
	// crewjam appends as it is.
	u, err := req.Redirect(state, sp)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
