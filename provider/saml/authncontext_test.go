package saml

import (
	"testing"

	"github.com/beevik/etree"
)

func TestAuthnContext(t *testing.T) {
	pwd := []string{"pwd"}
	mfa := []string{"pwd", "otp", "mfa"}
	fed := []string{"fed"}
	const smartcard = "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard"
	cases := []struct {
		name       string
		rc         *requestedContext
		amr        []string
		want       string // "" = refused
		wantNeedsM bool
	}{
		{"nothing asked, password", nil, pwd, classPPT, false},
		{"nothing asked, two factors", nil, mfa, classPPT, false},
		{"nothing asked, federated", nil, fed, classUnspecified, false},
		{"exact PPT, password", &requestedContext{"exact", []string{classPPT}}, pwd, classPPT, false},
		{"exact PPT met by two factors", &requestedContext{"exact", []string{classPPT}}, mfa, classPPT, false},
		{"exact PPT, federated", &requestedContext{"exact", []string{classPPT}}, fed, "", false},
		{"exact smartcard", &requestedContext{"exact", []string{smartcard}}, mfa, "", false},
		{"exact smartcard or PPT", &requestedContext{"exact", []string{smartcard, classPPT}}, pwd, classPPT, false},
		{"exact REFEDS MFA", &requestedContext{"exact", []string{classREFEDSMFA}}, mfa, classREFEDSMFA, true},
		{"exact REFEDS MFA, password only", &requestedContext{"exact", []string{classREFEDSMFA}}, pwd, "", true},
		{"minimum Password", &requestedContext{"minimum", []string{classPassword}}, pwd, classPPT, false},
		{"minimum PPT", &requestedContext{"minimum", []string{classPPT}}, mfa, classPPT, false},
		{"minimum MFA", &requestedContext{"minimum", []string{classMSMFA}}, mfa, classREFEDSMFA, true},
		{"minimum MFA, password only", &requestedContext{"minimum", []string{classMSMFA}}, pwd, "", true},
		{"minimum unknown", &requestedContext{"minimum", []string{smartcard}}, mfa, "", false},
		{"better Password", &requestedContext{"better", []string{classPassword}}, pwd, classPPT, false},
		{"better PPT", &requestedContext{"better", []string{classPPT}}, mfa, classREFEDSMFA, true},
		{"better PPT, password only", &requestedContext{"better", []string{classPPT}}, pwd, "", true},
		{"maximum PPT, two factors", &requestedContext{"maximum", []string{classPPT}}, mfa, classPPT, false},
		{"maximum unspecified, password", &requestedContext{"maximum", []string{classUnspecified}}, pwd, classUnspecified, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.rc.satisfy(c.amr)
			if c.want == "" {
				if ok {
					t.Errorf("satisfied with %s, want a refusal", got)
				}
			} else if !ok || got != c.want {
				t.Errorf("got %q %v, want %q", got, ok, c.want)
			}
			if n := c.rc.needsMFA(); n != c.wantNeedsM {
				t.Errorf("needsMFA = %v, want %v", n, c.wantNeedsM)
			}
		})
	}
}

func TestRequestedAuthnContextParse(t *testing.T) {
	doc := etree.NewDocument()
	must(t, doc.ReadFromString(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">
<samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>A</saml:AuthnContextClassRef><saml:AuthnContextClassRef> B </saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>`))
	rc := requestedAuthnContext(doc.Root())
	if rc == nil || rc.Comparison != "minimum" || len(rc.Classes) != 2 || rc.Classes[1] != "B" {
		t.Fatalf("got %+v", rc)
	}
	doc = etree.NewDocument()
	must(t, doc.ReadFromString(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	if rc := requestedAuthnContext(doc.Root()); rc != nil {
		t.Fatalf("none asked, got %+v", rc)
	}
}
