package federation

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/crewjam/saml"

	"gatehouse/storage"
)

// serveMetadata is GET /federation/{id}/metadata: the service provider
// metadata a partner loads into their identity provider (SAML Metadata
// 2.4.4). Its entityID is this URL. It lists the one ACS Gatehouse serves
// (HTTP-POST) and, as signing keys, every RSA key still trusted, so that
// AuthnRequests verify across a key rotation. It offers no encryption key:
// assertions come signed, in the clear, over TLS.
func (f *Federation) serveMetadata(w http.ResponseWriter, r *http.Request) {
	c, err := f.store.GetConnection(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.Type != TypeSAML) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no SAML connection " + truncate(r.PathValue("id"), 64) + "\n"))
		return
	}
	if err != nil {
		if storageDown(err) {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		f.log.Error("federation: metadata", "connection", r.PathValue("id"), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sp, err := f.serviceProvider(c, nil)
	if err != nil {
		f.log.Error("federation: metadata", "connection", c.ID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ed := sp.Metadata()
	d := &ed.SPSSODescriptors[0]
	d.KeyDescriptors = f.signingKeys()
	signed := len(d.KeyDescriptors) > 0 && sp.SignatureMethod != ""
	d.AuthnRequestsSigned = &signed
	d.AssertionConsumerServices = []saml.IndexedEndpoint{{
		Binding: saml.HTTPPostBinding, Location: f.acsURL(c.ID), Index: 1,
	}}
	d.NameIDFormats = []saml.NameIDFormat{saml.EmailAddressNameIDFormat, saml.PersistentNameIDFormat}
	b, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		f.log.Error("federation: metadata", "connection", c.ID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// signingKeys lists the certificates of every RSA key still trusted, the
// active one first.
func (f *Federation) signingKeys() []saml.KeyDescriptor {
	if f.cfg.Keys == nil {
		return nil
	}
	var out []saml.KeyDescriptor
	add := func(der []byte) {
		out = append(out, saml.KeyDescriptor{
			Use: "signing",
			KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
				X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(der)}},
			}},
		})
	}
	active, err := f.cfg.Keys.Active("RS256")
	if err == nil && active.Certificate != nil {
		add(active.Certificate.Raw)
	}
	for _, k := range f.cfg.Keys.All() {
		if _, ok := k.Signer.(*rsa.PrivateKey); !ok || k.Certificate == nil || k.ID == active.ID {
			continue
		}
		add(k.Certificate.Raw)
	}
	return out
}
