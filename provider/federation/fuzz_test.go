package federation

import (
	"errors"
	"testing"
)

const seedResponse = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r1" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="a1"><saml:Subject><saml:NameID>x</saml:NameID></saml:Subject><saml:Conditions/></saml:Assertion></samlp:Response>`

// FuzzInspectResponse feeds the first reader of a posted SAMLResponse:
// whatever comes, it answers with a shape or an upstreamErr, never a panic.
func FuzzInspectResponse(f *testing.F) {
	f.Add([]byte(seedResponse))
	f.Add([]byte(`<Response><Assertion/><Assertion/></Response>`))
	f.Add([]byte(`<Response><Status><StatusCode Value="x"><StatusCode Value="y"/></StatusCode></Status></Response>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><Response>&a;</Response>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := inspectResponse(b)
		var ue upstreamErr
		if err != nil && (!errors.As(err, &ue) || ue.kind != failInvalid) {
			t.Fatalf("inspectResponse: %v", err)
		}
	})
}

// FuzzParseIdPMetadata feeds the reader of IdP metadata, which comes from a
// URL a partner's admin chose.
func FuzzParseIdPMetadata(f *testing.F) {
	f.Add([]byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></IDPSSODescriptor></EntityDescriptor>`))
	f.Add([]byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="e"/></EntitiesDescriptor>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ed, err := parseIdPMetadata(b)
		if err == nil && (ed == nil || ed.EntityID == "" || len(ed.IDPSSODescriptors) == 0) {
			t.Fatalf("accepted metadata without an IdP: %+v", ed)
		}
		if err == nil {
			signingCerts(ed)
		}
	})
}

// FuzzFlexibleBool: only true and "true" (any case) are true.
func FuzzFlexibleBool(f *testing.F) {
	for _, s := range []string{`true`, `false`, `"true"`, `"TRUE"`, `"no"`, `null`, `1`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, sent := flexibleBool(b)
		if v && !sent {
			t.Fatal("true but not sent")
		}
	})
}
