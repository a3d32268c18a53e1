package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// Namespaces and formats (SAML Core 2.0).
const (
	nsProtocol      = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion     = "urn:oasis:names:tc:SAML:2.0:assertion"
	nameIDEmail     = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	nameIDEntity    = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	attrNameBasic   = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	bearer          = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	soapEnvelopeNS  = "http://schemas.xmlsoap.org/soap/envelope/"
	samlVersion     = "2.0"
	maxIDLength     = 256
	maxIssuerLength = 1024
)

// parseRoot checks that raw is one well-formed XML document whose root is
// the protocol element tag, and returns that root. The round-trip
// validator refuses documents that encoding/xml would read differently
// from how they were written, the basis of several signature-wrapping
// attacks on Go SAML libraries.
func parseRoot(raw []byte, tag string) (*etree.Element, error) {
	if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("malformed XML: %v", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, fmt.Errorf("malformed XML: %v", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no root element")
	}
	if root.Tag != tag || root.NamespaceURI() != nsProtocol {
		return nil, fmt.Errorf("expected a samlp:%s, got %s", tag, root.FullTag())
	}
	return root, nil
}

// parseAuthnRequest reads an AuthnRequest (SAML Core 3.4.1). It checks
// shape only; the caller checks it against the service provider, the
// clock and the replay cache.
func parseAuthnRequest(raw []byte) (*crewsaml.AuthnRequest, *etree.Element, error) {
	root, err := parseRoot(raw, "AuthnRequest")
	if err != nil {
		return nil, nil, err
	}
	var req crewsaml.AuthnRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		return nil, nil, fmt.Errorf("AuthnRequest: %v", err)
	}
	if err := checkHeader(req.ID, req.Issuer); err != nil {
		return nil, nil, fmt.Errorf("AuthnRequest: %w", err)
	}
	return &req, root, nil
}

// parseLogoutRequest reads a LogoutRequest (SAML Core 3.7.1).
func parseLogoutRequest(raw []byte) (*crewsaml.LogoutRequest, *etree.Element, error) {
	root, err := parseRoot(raw, "LogoutRequest")
	if err != nil {
		return nil, nil, err
	}
	var req crewsaml.LogoutRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		return nil, nil, fmt.Errorf("LogoutRequest: %v", err)
	}
	if err := checkHeader(req.ID, req.Issuer); err != nil {
		return nil, nil, fmt.Errorf("LogoutRequest: %w", err)
	}
	if req.NameID == nil || strings.TrimSpace(req.NameID.Value) == "" {
		return nil, nil, errors.New("LogoutRequest: no NameID")
	}
	return &req, root, nil
}

// checkHeader checks what every request must carry to be answered at all:
// an ID to answer to, and an Issuer naming the service provider.
func checkHeader(id string, iss *crewsaml.Issuer) error {
	if id == "" || len(id) > maxIDLength {
		return errors.New("ID is missing or too long")
	}
	if iss == nil || strings.TrimSpace(iss.Value) == "" {
		return errors.New("issuer is missing")
	}
	iss.Value = strings.TrimSpace(iss.Value)
	if len(iss.Value) > maxIssuerLength {
		return errors.New("issuer is too long")
	}
	if iss.Format != "" && iss.Format != nameIDEntity {
		return fmt.Errorf("issuer format %q is not %s", iss.Format, nameIDEntity)
	}
	return nil
}
