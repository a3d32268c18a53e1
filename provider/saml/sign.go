package saml

import (
	"encoding/base64"
	"fmt"
	"net/url"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"gatehouse/keys"
)

// signer signs Gatehouse's SAML messages with one key, the active RS256
// key at the time the message was started, so that a Response and the
// Assertion inside it never straddle a key rotation.
type signer struct {
	key keys.Key
}

// activeSigner returns a signer over the active RSA key.
func (p *IdP) activeSigner() (*signer, error) {
	k, err := p.cfg.Keys.Active("RS256")
	if err != nil {
		return nil, err
	}
	if k.Certificate == nil {
		return nil, fmt.Errorf("saml: key %s has no certificate", k.ID)
	}
	return &signer{key: k}, nil
}

// context returns a signing context for RSA-SHA256 with SHA-256 digests
// and exclusive canonicalisation without a prefix list, which every SAML
// library verifies (a prefix list trips some of them).
func (s *signer) context() (*dsig.SigningContext, error) {
	ctx, err := dsig.NewSigningContext(s.key.Signer, [][]byte{s.key.Certificate.Raw})
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	return ctx, nil
}

// signature returns the enveloped ds:Signature over el (whose ID attribute
// it references). el itself is not changed: the caller places the
// signature where the schema wants it (after the Issuer) and renders again;
// the enveloped-signature transform makes the position irrelevant to the
// digest.
func (s *signer) signature(el *etree.Element) (*etree.Element, error) {
	ctx, err := s.context()
	if err != nil {
		return nil, err
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, err
	}
	children := signed.ChildElements()
	return children[len(children)-1], nil
}

// signQuery signs an HTTP-Redirect query ("SAMLRequest=...&RelayState=...")
// and returns it with SigAlg and Signature appended (SAML Bindings 3.4.4.1).
func (s *signer) signQuery(query string) (string, error) {
	query += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
	ctx, err := s.context()
	if err != nil {
		return "", err
	}
	sig, err := ctx.SignString(query)
	if err != nil {
		return "", err
	}
	return query + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)), nil
}
