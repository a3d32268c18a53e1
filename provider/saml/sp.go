package saml

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	crewsaml "github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"

	"gatehouse/storage"
)

// Errors resolving a service provider. Each becomes a page, never a SAML
// status: without a known SP and a registered endpoint there is nowhere
// safe to send one.
var (
	errUnknownSP       = errors.New("service provider not registered")
	errBadMetadata     = errors.New("service provider metadata unusable")
	errUnregisteredACS = errors.New("assertion consumer service not registered")
	errNoPostACS       = errors.New("no assertion consumer service with the HTTP-POST binding")
)

// serviceProvider is a registered service provider with its metadata parsed.
type serviceProvider struct {
	rec storage.ServiceProvider
	md  *crewsaml.EntityDescriptor
	// signing holds the certificates the SP signs with (KeyDescriptors with
	// use="signing" or no use).
	signing []*x509.Certificate
	// wantsSigned is AuthnRequestsSigned="true": every AuthnRequest must
	// carry a valid signature.
	wantsSigned bool
}

// parsedSP caches a parse by the hash of the metadata it came from, so a
// change to the record (or a refetch) is picked up at once.
type parsedSP struct {
	sum [32]byte
	sp  *serviceProvider
}

// serviceProvider returns the registered SP with its metadata parsed.
// Errors: errUnknownSP, errBadMetadata, or a backend failure.
func (p *IdP) serviceProvider(ctx context.Context, entityID string) (*serviceProvider, error) {
	if entityID == "" || len(entityID) > 1024 {
		return nil, errUnknownSP
	}
	rec, err := p.cfg.Clients.ServiceProvider(ctx, entityID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errUnknownSP
	}
	if err != nil {
		return nil, err
	}
	text, err := p.metadataText(ctx, rec)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(text))
	p.mdMu.Lock()
	c, ok := p.parsed[rec.EntityID]
	p.mdMu.Unlock()
	if ok && c.sum == sum {
		// The record may have changed in fields other than the metadata
		// (allowed_roles, name): keep those current.
		sp := *c.sp
		sp.rec = rec
		return &sp, nil
	}
	sp, err := parseSPMetadata(rec, []byte(text))
	if err != nil {
		p.log.Warn("saml: service provider metadata unusable", "sp", rec.EntityID, "err", err)
		return nil, fmt.Errorf("%w: %v", errBadMetadata, err)
	}
	p.mdMu.Lock()
	p.parsed[rec.EntityID] = parsedSP{sum: sum, sp: sp}
	p.mdMu.Unlock()
	return sp, nil
}

// parseSPMetadata reads an EntityDescriptor (or an EntitiesDescriptor
// holding one) for rec.EntityID.
func parseSPMetadata(rec storage.ServiceProvider, text []byte) (*serviceProvider, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, errors.New("no metadata")
	}
	if err := xrv.Validate(bytes.NewReader(text)); err != nil {
		return nil, fmt.Errorf("malformed XML: %v", err)
	}
	var ed crewsaml.EntityDescriptor
	if err := xml.Unmarshal(text, &ed); err != nil {
		var set crewsaml.EntitiesDescriptor
		if err2 := xml.Unmarshal(text, &set); err2 != nil {
			return nil, fmt.Errorf("neither an EntityDescriptor nor an EntitiesDescriptor: %v", err)
		}
		found := findEntity(set, rec.EntityID)
		if found == nil {
			return nil, fmt.Errorf("EntitiesDescriptor has no entity %q", rec.EntityID)
		}
		ed = *found
	}
	if ed.EntityID != rec.EntityID {
		return nil, fmt.Errorf("metadata is for entity %q, not %q", ed.EntityID, rec.EntityID)
	}
	if len(ed.SPSSODescriptors) == 0 {
		return nil, errors.New("no SPSSODescriptor")
	}
	sp := &serviceProvider{rec: rec, md: &ed}
	for _, d := range ed.SPSSODescriptors {
		if d.AuthnRequestsSigned != nil && *d.AuthnRequestsSigned {
			sp.wantsSigned = true
		}
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				cert, err := parseMetadataCert(c.Data)
				if err != nil {
					return nil, fmt.Errorf("signing certificate: %v", err)
				}
				sp.signing = append(sp.signing, cert)
			}
		}
	}
	if sp.wantsSigned && len(sp.signing) == 0 {
		return nil, errors.New(`AuthnRequestsSigned="true" but no signing certificate`)
	}
	return sp, nil
}

func findEntity(set crewsaml.EntitiesDescriptor, id string) *crewsaml.EntityDescriptor {
	for i := range set.EntityDescriptors {
		if set.EntityDescriptors[i].EntityID == id {
			return &set.EntityDescriptors[i]
		}
	}
	for _, sub := range set.EntitiesDescriptors {
		if ed := findEntity(sub, id); ed != nil {
			return ed
		}
	}
	return nil
}

// parseMetadataCert decodes an X509Certificate element's text. Some
// metadata (crewjam's own) puts a chain in one element, so the first
// certificate of the DER sequence is the SP's.
func parseMetadataCert(data string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil {
		return nil, err
	}
	certs, err := x509.ParseCertificates(der)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, errors.New("empty certificate")
	}
	return certs[0], nil
}

// acs picks the endpoint an AuthnRequest's Response goes to, among the
// SP's registered assertion consumer services: by index, by URL (exact
// match), or the default. Only HTTP-POST endpoints are answered.
func (sp *serviceProvider) acs(index, location string) (string, error) {
	var all []crewsaml.IndexedEndpoint
	for _, d := range sp.md.SPSSODescriptors {
		all = append(all, d.AssertionConsumerServices...)
	}
	switch {
	case index != "":
		n, err := strconv.Atoi(index)
		if err != nil {
			return "", errUnregisteredACS
		}
		for _, e := range all {
			if e.Index == n {
				if e.Binding != crewsaml.HTTPPostBinding {
					return "", errNoPostACS
				}
				return e.Location, nil
			}
		}
		return "", errUnregisteredACS
	case location != "":
		known := false
		for _, e := range all {
			if e.Location == location {
				if e.Binding == crewsaml.HTTPPostBinding {
					return e.Location, nil
				}
				known = true
			}
		}
		if known {
			return "", errNoPostACS
		}
		return "", errUnregisteredACS
	}
	return sp.defaultACS()
}

// defaultACS is the HTTP-POST endpoint marked isDefault, else the one with
// the lowest index, else the first (SAML Metadata 2.2.3).
func (sp *serviceProvider) defaultACS() (string, error) {
	var posts []crewsaml.IndexedEndpoint
	for _, d := range sp.md.SPSSODescriptors {
		for _, e := range d.AssertionConsumerServices {
			if e.Binding == crewsaml.HTTPPostBinding && e.Location != "" {
				posts = append(posts, e)
			}
		}
	}
	if len(posts) == 0 {
		return "", errNoPostACS
	}
	for _, e := range posts {
		if e.IsDefault != nil && *e.IsDefault {
			return e.Location, nil
		}
	}
	best := slices.MinFunc(posts, func(a, b crewsaml.IndexedEndpoint) int { return a.Index - b.Index })
	return best.Location, nil
}

// hasACS reports whether location is still one of the SP's HTTP-POST
// assertion consumer services.
func (sp *serviceProvider) hasACS(location string) bool {
	for _, d := range sp.md.SPSSODescriptors {
		for _, e := range d.AssertionConsumerServices {
			if e.Location == location && e.Binding == crewsaml.HTTPPostBinding {
				return true
			}
		}
	}
	return false
}

// endpoint is a SingleLogoutService endpoint.
type endpoint struct {
	Binding  string `json:"binding"`
	Location string `json:"location"`
	Response string `json:"response,omitempty"` // ResponseLocation, when it differs
}

// sloEndpoint returns the SP's SingleLogoutService for the first binding of
// prefer that it has.
func (sp *serviceProvider) sloEndpoint(prefer ...string) (endpoint, bool) {
	for _, b := range prefer {
		for _, d := range sp.md.SPSSODescriptors {
			for _, e := range d.SingleLogoutServices {
				if e.Binding == b && e.Location != "" {
					return endpoint{Binding: b, Location: e.Location, Response: e.ResponseLocation}, true
				}
			}
		}
	}
	return endpoint{}, false
}

// backChannelBindings are the bindings Gatehouse can send a LogoutRequest
// through without a browser, best first.
var backChannelBindings = []string{crewsaml.SOAPBinding, crewsaml.HTTPPostBinding, crewsaml.HTTPRedirectBinding}
