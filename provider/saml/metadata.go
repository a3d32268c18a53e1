package saml

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"time"

	crewsaml "github.com/crewjam/saml"
)

// metadataValidity is how long a copy of the metadata may be used
// (validUntil); metadataCache is how often SPs are asked to fetch it again
// (cacheDuration), short enough that a key rotation reaches them well
// within the time the previous key keeps being listed.
const (
	metadataValidity = 7 * 24 * time.Hour
	metadataCache    = time.Hour
)

// serveMetadata answers with the identity provider's metadata (SAML
// Metadata 2.4.3).
func (p *IdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	b, err := p.metadata()
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}

// metadata lists the active RSA signing certificate first and then every
// earlier one still trusted, so that an SP holding an assertion signed
// just before a rotation, or metadata fetched just after it, still
// verifies. Gatehouse asks for no encryption key: it neither decrypts
// anything nor wants signed AuthnRequests from every SP.
func (p *IdP) metadata() ([]byte, error) {
	active, err := p.cfg.Keys.Active("RS256")
	if err != nil {
		return nil, err
	}
	certs := []string{base64.StdEncoding.EncodeToString(active.Certificate.Raw)}
	for _, k := range p.cfg.Keys.All() {
		if k.ID != active.ID && k.Alg == "RS256" && k.Certificate != nil {
			certs = append(certs, base64.StdEncoding.EncodeToString(k.Certificate.Raw))
		}
	}
	kds := make([]crewsaml.KeyDescriptor, 0, len(certs))
	for _, c := range certs {
		kds = append(kds, crewsaml.KeyDescriptor{
			Use:     "signing",
			KeyInfo: crewsaml.KeyInfo{X509Data: crewsaml.X509Data{X509Certificates: []crewsaml.X509Certificate{{Data: c}}}},
		})
	}
	no := false
	ed := crewsaml.EntityDescriptor{
		EntityID:      p.entityID,
		ValidUntil:    p.nowUTC().Add(metadataValidity),
		CacheDuration: metadataCache,
		IDPSSODescriptors: []crewsaml.IDPSSODescriptor{{
			SSODescriptor: crewsaml.SSODescriptor{
				RoleDescriptor: crewsaml.RoleDescriptor{
					ProtocolSupportEnumeration: nsProtocol,
					KeyDescriptors:             kds,
				},
				SingleLogoutServices: []crewsaml.Endpoint{
					{Binding: crewsaml.HTTPRedirectBinding, Location: p.sloURL},
					{Binding: crewsaml.HTTPPostBinding, Location: p.sloURL},
				},
				NameIDFormats: []crewsaml.NameIDFormat{nameIDEmail},
			},
			WantAuthnRequestsSigned: &no,
			SingleSignOnServices: []crewsaml.Endpoint{
				{Binding: crewsaml.HTTPRedirectBinding, Location: p.ssoURL},
				{Binding: crewsaml.HTTPPostBinding, Location: p.ssoURL},
			},
		}},
	}
	b, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}
