package saml

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"

	"gatehouse/storage"
)

func TestMetadata(t *testing.T) {
	e := newEnv(t, nil)
	res, err := http.Get(e.issuer + "/saml/metadata")
	must(t, err)
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
		t.Errorf("Content-Type = %s", ct)
	}
	md := e.idpMetadata()
	if md.EntityID != e.issuer+"/saml/metadata" || md.EntityID != e.idp.EntityID() {
		t.Errorf("entityID = %s", md.EntityID)
	}
	if !md.ValidUntil.After(time.Now()) {
		t.Errorf("validUntil %s is not in the future", md.ValidUntil)
	}
	if len(md.IDPSSODescriptors) != 1 {
		t.Fatalf("%d IDPSSODescriptors", len(md.IDPSSODescriptors))
	}
	d := md.IDPSSODescriptors[0]
	bindings := map[string]string{}
	for _, s := range d.SingleSignOnServices {
		bindings[s.Binding] = s.Location
	}
	if bindings[crewsaml.HTTPRedirectBinding] != e.issuer+"/saml/sso" || bindings[crewsaml.HTTPPostBinding] != e.issuer+"/saml/sso" {
		t.Errorf("SingleSignOnService = %v", bindings)
	}
	if len(d.SingleLogoutServices) == 0 || d.SingleLogoutServices[0].Location != e.issuer+"/saml/slo" {
		t.Errorf("SingleLogoutService = %v", d.SingleLogoutServices)
	}
	if len(d.NameIDFormats) != 1 || string(d.NameIDFormats[0]) != nameIDEmail {
		t.Errorf("NameIDFormat = %v", d.NameIDFormats)
	}

	certs := func() []string {
		var out []string
		for _, kd := range e.idpMetadata().IDPSSODescriptors[0].KeyDescriptors {
			if kd.Use != "signing" {
				t.Errorf("KeyDescriptor use %q", kd.Use)
			}
			out = append(out, kd.KeyInfo.X509Data.X509Certificates[0].Data)
		}
		return out
	}
	activeCert := func() string {
		k, err := e.keys.Active("RS256")
		must(t, err)
		return base64.StdEncoding.EncodeToString(k.Certificate.Raw)
	}
	before := activeCert()
	if got := certs(); len(got) != 1 || got[0] != before {
		t.Fatalf("before rotation: %d certificates, want the active one", len(got))
	}

	// After a rotation the new key comes first and the old one stays,
	// for SPs holding assertions it signed.
	must(t, e.keys.Rotate(context.Background()))
	after := activeCert()
	if got := certs(); len(got) != 2 || got[0] != after || got[1] != before {
		t.Fatalf("after rotation: got %d certificates, want [new, old]", len(got))
	}
	// And new responses are signed with the new key.
	sp := e.newSP(spOptions{name: "After rotation"})
	b := e.browser()
	res2 := b.deliver(b.signIn(b.get(sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), "")), "alice@acme.example"))
	if !res2.OK {
		t.Fatalf("sign-in after rotation: %s", res2.Error)
	}
	if !strings.Contains(res2.Raw, after) {
		t.Error("the response's KeyInfo is not the new certificate")
	}
}

func TestMetadataURL(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "By URL", byURL: true})
	b := e.browser()
	for i := 0; i < 2; i++ {
		p := b.get(sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), ""))
		if isLoginPage(p) {
			p = b.signIn(p, "alice@acme.example")
		}
		if res := b.deliver(p); !res.OK {
			t.Fatalf("sign-in %d: %s", i, res.Error)
		}
	}
	fetches := func() int {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		return sp.metadataFetches
	}
	if n := fetches(); n != 1 {
		t.Fatalf("metadata fetched %d times for two sign-ins, want once", n)
	}
	ctx := context.Background()

	// Another node shares the fetch through the ephemeral store.
	other, err := New(e.idp.cfg)
	must(t, err)
	if _, err := other.serviceProvider(ctx, sp.sp.EntityID); err != nil {
		t.Fatal(err)
	}
	if n := fetches(); n != 1 {
		t.Fatalf("a second node fetched again (%d fetches)", n)
	}

	// Past the TTL the old copy still serves while a refresh runs.
	e.clock.Advance(DefaultMetadataTTL + time.Minute)
	if _, err := e.idp.serviceProvider(ctx, sp.sp.EntityID); err != nil {
		t.Fatal(err)
	}
	e.idp.Wait()
	if n := fetches(); n != 2 {
		t.Fatalf("after the TTL: %d fetches, want a refresh", n)
	}

	// A service provider that cannot be reached, with no copy anywhere,
	// gets a page (502), not a 500.
	must(t, e.store.CreateServiceProvider(ctx, storage.ServiceProvider{EntityID: "https://gone.example/md", Name: "Gone", MetadataURL: sp.srv.URL + "/nothing-here"}))
	must(t, e.reg.Changed(ctx))
	if _, err := e.idp.serviceProvider(ctx, "https://gone.example/md"); !errors.Is(err, errBadMetadata) {
		t.Fatalf("unreachable metadata: %v, want errBadMetadata", err)
	}
	res, err := http.Get(e.issuer + "/saml/idp-initiated?sp=" + "https%3A%2F%2Fgone.example%2Fmd")
	must(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502:\n%s", res.StatusCode, body)
	}
}

func TestBadMetadata(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cases := map[string]string{
		"not XML":            "this is not metadata",
		"another entity":     `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://other.example"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></EntityDescriptor>`,
		"no SPSSODescriptor": `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="ID"/>`,
		"signed requests without a key": `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="ID"><SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
			`<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/></SPSSODescriptor></EntityDescriptor>`,
	}
	i := 0
	for name, md := range cases {
		i++
		id := "https://bad.example/" + string(rune('a'+i))
		must(t, e.store.CreateServiceProvider(ctx, storage.ServiceProvider{EntityID: id, Name: name, Metadata: strings.ReplaceAll(md, `"ID"`, `"`+id+`"`)}))
		must(t, e.reg.Changed(ctx))
		if _, err := e.idp.serviceProvider(ctx, id); !errors.Is(err, errBadMetadata) {
			t.Errorf("%s: %v, want errBadMetadata", name, err)
		}
	}

	// An EntitiesDescriptor holding the SP is fine.
	id := "https://group.example/sp"
	group := `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="` + id + `"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://group.example/acs" index="0"/></SPSSODescriptor></EntityDescriptor></EntitiesDescriptor>`
	must(t, e.store.CreateServiceProvider(ctx, storage.ServiceProvider{EntityID: id, Metadata: group}))
	must(t, e.reg.Changed(ctx))
	sp, err := e.idp.serviceProvider(ctx, id)
	must(t, err)
	if acs, err := sp.defaultACS(); err != nil || acs != "https://group.example/acs" {
		t.Errorf("default ACS %q, %v", acs, err)
	}
}
