package saml

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

var (
	errUnsigned     = errors.New("the message is not signed")
	errBadSignature = errors.New("the message's signature does not verify")
)

// signatureAlgorithms are the signature methods accepted on incoming
// messages. SHA-1 is refused: chosen-prefix collisions on it are practical,
// and every SP library of the last decade can sign with SHA-256.
var signatureAlgorithms = map[string]x509.SignatureAlgorithm{
	dsig.RSASHA256SignatureMethod:   x509.SHA256WithRSA,
	dsig.RSASHA384SignatureMethod:   x509.SHA384WithRSA,
	dsig.RSASHA512SignatureMethod:   x509.SHA512WithRSA,
	dsig.ECDSASHA256SignatureMethod: x509.ECDSAWithSHA256,
	dsig.ECDSASHA384SignatureMethod: x509.ECDSAWithSHA384,
	dsig.ECDSASHA512SignatureMethod: x509.ECDSAWithSHA512,
}

// verifyMessage checks the signature of a message from a service provider
// against the certificates of its metadata. A message may be signed in the
// query (HTTP-Redirect, SAML Bindings 3.4.4.1) or inside the XML (an
// enveloped signature; HTTP-POST, and some senders' HTTP-Redirect too).
// With required, an unsigned message is refused; otherwise a signature that
// is present must still verify. It reports whether a signature verified.
func verifyMessage(msg *message, root *etree.Element, certs []*x509.Certificate, required bool, now time.Time) (bool, error) {
	hasQuerySig := msg.binding == crewsaml.HTTPRedirectBinding && queryHas(msg.rawQuery, "Signature")
	hasXMLSig := signatureChild(root) != nil
	switch {
	case !hasQuerySig && !hasXMLSig:
		if required {
			return false, errUnsigned
		}
		return false, nil
	case len(certs) == 0:
		// Signed, but the metadata gives no key to check it with; the SP
		// does not ask for signing, so the signature is not relied on.
		return false, nil
	case hasQuerySig:
		return true, verifyQuery(msg.rawQuery, msg.param, certs)
	default:
		return true, verifyEnveloped(root, certs, now)
	}
}

// queryHas reports whether the raw query has the parameter name.
func queryHas(rawQuery, name string) bool {
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if key, err := url.QueryUnescape(k); err == nil && key == name {
			return true
		}
	}
	return false
}

// verifyQuery checks an HTTP-Redirect signature. It is computed over
// "param=V&RelayState=V&SigAlg=V" with each value exactly as it appears in
// the URL (SAML Bindings 3.4.4.1), so the raw query is taken apart rather
// than decoded and re-encoded, which would change the bytes.
func verifyQuery(rawQuery, param string, certs []*x509.Certificate) error {
	raw := map[string]string{}
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return fmt.Errorf("%w: malformed query", errBadSignature)
		}
		switch key {
		case param, "RelayState", "SigAlg", "Signature":
			if _, dup := raw[key]; dup {
				return fmt.Errorf("%w: %s appears twice", errBadSignature, key)
			}
			raw[key] = v
		}
	}
	sigAlg, okAlg := raw["SigAlg"]
	sigText, okSig := raw["Signature"]
	if !okAlg || !okSig {
		return fmt.Errorf("%w: SigAlg or Signature missing", errBadSignature)
	}
	signed := param + "=" + raw[param]
	if rs, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	signed += "&SigAlg=" + sigAlg

	alg, err := url.QueryUnescape(sigAlg)
	if err != nil {
		return fmt.Errorf("%w: malformed SigAlg", errBadSignature)
	}
	algo, ok := signatureAlgorithms[alg]
	if !ok {
		return fmt.Errorf("%w: signature algorithm %q is not accepted", errBadSignature, alg)
	}
	sigB64, err := url.QueryUnescape(sigText)
	if err != nil {
		return fmt.Errorf("%w: malformed Signature", errBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("%w: Signature is not base64", errBadSignature)
	}
	for _, c := range certs {
		if c.CheckSignature(algo, []byte(signed), sig) == nil {
			return nil
		}
	}
	return errBadSignature
}

// signatureChild returns root's ds:Signature child, if it has one.
func signatureChild(root *etree.Element) *etree.Element {
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsig.Namespace {
			return c
		}
	}
	return nil
}

// verifyEnveloped checks an enveloped XML signature over root (XML-DSig
// 6.6.4) against each certificate in turn.
//
// The certificates come from metadata the operator registered, which is
// what makes them trusted; like Shibboleth and SimpleSAMLphp, Gatehouse
// does not refuse a self-signed SP certificate for having expired. goxmldsig
// checks validity against its clock, so the clock handed to it is moved
// inside each certificate's validity.
func verifyEnveloped(root *etree.Element, certs []*x509.Certificate, now time.Time) error {
	el := root.Copy()
	sig := signatureChild(el)
	if sig == nil {
		return errUnsigned
	}
	if m := sig.FindElement("./SignedInfo/SignatureMethod"); m == nil {
		return fmt.Errorf("%w: no SignatureMethod", errBadSignature)
	} else if _, ok := signatureAlgorithms[m.SelectAttrValue("Algorithm", "")]; !ok {
		return fmt.Errorf("%w: signature algorithm %q is not accepted", errBadSignature, m.SelectAttrValue("Algorithm", ""))
	}
	// A KeyInfo without a certificate (an RSAKeyValue, say) cannot name a
	// trusted key; without it goxmldsig uses the one certificate it is given.
	if ki := sig.FindElement("./KeyInfo"); ki != nil && ki.FindElement(".//X509Certificate") == nil {
		sig.RemoveChild(ki)
	}
	var last error = errBadSignature
	for _, c := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		vc.IdAttribute = "ID"
		vc.Clock = dsig.NewFakeClockAt(within(now, c))
		if _, err := vc.Validate(el); err == nil {
			return nil
		} else {
			last = fmt.Errorf("%w: %v", errBadSignature, err)
		}
	}
	return last
}

// within returns t moved into c's validity period.
func within(t time.Time, c *x509.Certificate) time.Time {
	if t.Before(c.NotBefore) {
		return c.NotBefore
	}
	if t.After(c.NotAfter) {
		return c.NotAfter
	}
	return t
}
