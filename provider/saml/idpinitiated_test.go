package saml

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestIDPInitiated(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "Network Manager", idpInitiated: true})
	b := e.browser()

	p := b.get("/saml/idp-initiated?sp=" + url.QueryEscape(sp.sp.EntityID) + "&RelayState=%2Fdevices")
	res := b.deliver(b.signIn(p, "alice@acme.example"))
	if !res.OK {
		t.Fatalf("the SP refused the unsolicited response: %s\n%s", res.Error, res.Raw)
	}
	checkAliceAssertion(t, res)
	if res.InResponseTo != "" {
		t.Errorf("an unsolicited response has InResponseTo %q", res.InResponseTo)
	}
	if res.RelayState != "/devices" {
		t.Errorf("RelayState = %q, want /devices", res.RelayState)
	}
	if strings.Contains(res.Raw, "InResponseTo=") {
		t.Error("the XML carries an InResponseTo attribute")
	}

	// With the session, the next launch goes straight through.
	p = b.get("/saml/idp-initiated?sp=" + url.QueryEscape(sp.sp.EntityID))
	if isLoginPage(p) {
		t.Fatal("a launch with a session showed the sign-in page")
	}
	if res := b.deliver(p); !res.OK {
		t.Fatalf("second launch: %s", res.Error)
	}
}

func TestIDPInitiatedUnknownService(t *testing.T) {
	e := newEnv(t, nil)
	for _, q := range []string{"?sp=https%3A%2F%2Fnowhere.example%2Fmetadata", ""} {
		p := e.browser().get("/saml/idp-initiated" + q)
		want := http.StatusNotFound
		if q == "" {
			want = http.StatusBadRequest
		}
		if p.status != want || strings.Contains(p.body, "SAMLResponse") || !strings.Contains(p.body, `class="card"`) {
			t.Errorf("%q: got %d, want a %d page:\n%s", q, p.status, want, p.body)
		}
	}
}

func TestIDPInitiatedAllowedRoles(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "Staff only", idpInitiated: true, allowedRoles: []string{"admin"}})
	b := e.browser()
	res := b.deliver(b.signIn(b.get("/saml/idp-initiated?sp="+url.QueryEscape(sp.sp.EntityID)), "bob@globex.example"))
	if res.OK || res.SubStatus != "urn:oasis:names:tc:SAML:2.0:status:RequestDenied" {
		t.Fatalf("a client got ok=%v %s/%s, want RequestDenied", res.OK, res.Status, res.SubStatus)
	}
}

func TestServices(t *testing.T) {
	e := newEnv(t, nil)
	kb := e.newSP(spOptions{name: "Knowledge Base"})
	staff := e.newSP(spOptions{name: "Admin Console", allowedRoles: []string{"admin", "owner"}})
	ctx := context.Background()

	names := func(ls []Launch) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}
	admin := e.idp.Services(ctx, "admin")
	if got := names(admin); !slices.Equal(got, []string{"Admin Console", "Knowledge Base"}) {
		t.Errorf("admin sees %q", got)
	}
	if got := names(e.idp.Services(ctx, "client")); !slices.Equal(got, []string{"Knowledge Base"}) {
		t.Errorf("client sees %q", got)
	}
	for _, l := range admin {
		want := e.issuer + "/saml/idp-initiated?sp=" + url.QueryEscape(map[string]string{"Knowledge Base": kb.sp.EntityID, "Admin Console": staff.sp.EntityID}[l.Name])
		if l.URL != want {
			t.Errorf("%s launches %s, want %s", l.Name, l.URL, want)
		}
	}
}
