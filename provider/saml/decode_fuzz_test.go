package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const seedRequest = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-1" Version="2.0" IssueInstant="2024-01-01T00:00:00Z" Destination="https://gatehouse.example/saml/sso" AssertionConsumerServiceURL="https://sp.example/acs" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>https://sp.example/metadata</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/><samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>`

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// FuzzParseAuthnRequest feeds request parsing arbitrary bytes through both
// bindings' decoding (HTTP-Redirect: base64 of DEFLATE in the query;
// HTTP-POST: base64 in a form) and as XML directly, and requires that
// nothing panics and nothing unbounded comes out.
func FuzzParseAuthnRequest(f *testing.F) {
	f.Add([]byte(seedRequest))
	f.Add(deflate([]byte(seedRequest)))
	f.Add([]byte(base64.StdEncoding.EncodeToString(deflate([]byte(seedRequest)))))
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte(seedRequest))))
	f.Add([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">e</saml:Issuer><saml:NameID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">a@b</saml:NameID></samlp:LogoutRequest>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "ccc">]><a>&b;</a>`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		parse := func(xml []byte) {
			if len(xml) > maxMessageBytes {
				t.Fatalf("decoded %d bytes, over the limit", len(xml))
			}
			if req, root, err := parseAuthnRequest(xml); err == nil {
				if req.ID == "" || req.Issuer == nil || req.Issuer.Value == "" {
					t.Fatalf("accepted a request without ID or Issuer")
				}
				_ = requestedAuthnContext(root)
				_ = loginHint(req)
			}
			_, _, _ = parseLogoutRequest(xml)
		}
		parse(data)
		if xml, err := decodeRedirect(string(data)); err == nil {
			parse(xml)
		}
		if xml, err := decodeRedirect(base64.StdEncoding.EncodeToString(data)); err == nil {
			parse(xml)
		}
		if xml, err := decodePost(string(data)); err == nil {
			parse(xml)
		}

		// And through the HTTP readers, as the handlers call them.
		enc := base64.StdEncoding.EncodeToString(data)
		r := httptest.NewRequest("GET", "/saml/sso?SAMLRequest="+url.QueryEscape(enc)+"&RelayState="+url.QueryEscape(string(data)), nil)
		if msg, err := readMessage(r, paramRequest); err == nil {
			parse(msg.xml)
			_ = queryHas(msg.rawQuery, "Signature")
			_ = verifyQuery(msg.rawQuery, paramRequest, nil)
		}
		r = httptest.NewRequest("POST", "/saml/sso", strings.NewReader(url.Values{"SAMLRequest": {enc}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if msg, err := readMessage(r, paramRequest); err == nil {
			parse(msg.xml)
		}
	})
}
