package saml

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"

	"gatehouse/storage"
)

// signInTo signs b in (if it is not already) to each SP and returns the
// session's ID, which is also its SessionIndex.
func signInTo(t testing.TB, b *browser, who string, sps ...*testSP) string {
	t.Helper()
	sid := ""
	for _, sp := range sps {
		p := b.get(sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), ""))
		if isLoginPage(p) {
			p = b.signIn(p, who)
		}
		res := b.deliver(p)
		if !res.OK {
			t.Fatalf("sign-in to %s: %s", sp.sp.EntityID, res.Error)
		}
		if sid != "" && res.SessionIndex != sid {
			t.Fatalf("SessionIndex changed from %s to %s", sid, res.SessionIndex)
		}
		sid = res.SessionIndex
	}
	return sid
}

// logoutRequest is a LogoutRequest from sp for alice, signed when sp signs,
// naming the session when sessionIndex is set.
func (ts *testSP) logoutRequest(nameID, sessionIndex string) *crewsaml.LogoutRequest {
	ts.t.Helper()
	lr, err := ts.sp.MakeLogoutRequest(ts.sp.GetSLOBindingLocation(crewsaml.HTTPPostBinding), nameID)
	must(ts.t, err)
	if sessionIndex != "" {
		lr.SessionIndex = &crewsaml.SessionIndex{Value: sessionIndex}
		if ts.sp.SignatureMethod != "" {
			lr.Signature = nil
			must(ts.t, ts.sp.SignLogoutRequest(lr))
		}
	}
	return lr
}

func postLogoutFields(t testing.TB, lr *crewsaml.LogoutRequest, relayState string) url.Values {
	t.Helper()
	b, err := lr.Bytes()
	must(t, err)
	return url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(b)}, "RelayState": {relayState}}
}

// logoutStatus reads the LogoutResponse a POST page carries.
func logoutStatus(t testing.TB, p visit) (code, sub string) {
	t.Helper()
	_, form := formOf(t, p)
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	must(t, err)
	doc := etree.NewDocument()
	must(t, doc.ReadFromBytes(raw))
	if doc.Root().Tag != "LogoutResponse" {
		t.Fatalf("expected a LogoutResponse, got %s", doc.Root().Tag)
	}
	if c := doc.FindElement("//Status/StatusCode"); c != nil {
		code = c.SelectAttrValue("Value", "")
	}
	if c := doc.FindElement("//Status/StatusCode/StatusCode"); c != nil {
		sub = c.SelectAttrValue("Value", "")
	}
	return code, sub
}

func TestSingleLogoutSPInitiated(t *testing.T) {
	for _, withIndex := range []bool{false, true} {
		name := "session from the cookie"
		if withIndex {
			name = "session from SessionIndex"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			kb := e.newSP(spOptions{name: "KB", signRequests: true, sloBindings: []string{crewsaml.HTTPPostBinding}})
			portal := e.newSP(spOptions{name: "Portal", sloBindings: []string{crewsaml.SOAPBinding}})
			b := e.browser()
			sid := signInTo(t, b, "alice@acme.example", kb, portal)

			index := ""
			if withIndex {
				index = sid
			}
			p := b.post("/saml/slo", postLogoutFields(t, kb.logoutRequest("alice@acme.example", index), "bye"))
			if code, _ := logoutStatus(t, p); code != statusSuccess {
				t.Fatalf("LogoutResponse status %s", code)
			}
			action, form := formOf(t, p)
			if form.Get("RelayState") != "bye" {
				t.Errorf("RelayState = %q", form.Get("RelayState"))
			}
			b.post(action, form)
			if len(kb.logoutResponses) != 1 || kb.logoutResponses[0] != nil {
				t.Fatalf("the SP's check of the LogoutResponse: %v", kb.logoutResponses)
			}

			// The session is over everywhere.
			if _, err := e.login.GetSession(context.Background(), sid); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("session still there: %v", err)
			}
			if p := b.get(kb.redirectURL(kb.authnRequest(crewsaml.HTTPRedirectBinding), "")); !isLoginPage(p) {
				t.Fatalf("after logout, sign-in went through without the password: %d %s", p.status, p.url)
			}

			// The other SP was told over the back channel; the one that
			// asked was not sent a request of its own.
			e.idp.Wait()
			if len(kb.logoutRequests) != 0 {
				t.Errorf("the initiating SP got %d LogoutRequests", len(kb.logoutRequests))
			}
			checkLogoutRequest(t, e, portal, "alice@acme.example", sid)
		})
	}
}

// checkLogoutRequest checks the one LogoutRequest sp received (its
// signature was verified on receipt).
func checkLogoutRequest(t *testing.T, e *env, sp *testSP, nameID, sessionIndex string) {
	t.Helper()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.logoutRequests) != 1 {
		t.Fatalf("%s got %d LogoutRequests, want 1", sp.sp.EntityID, len(sp.logoutRequests))
	}
	lr := sp.logoutRequests[0]
	if got := lr.FindElement("./NameID"); got == nil || got.Text() != nameID || got.SelectAttrValue("Format", "") != nameIDEmail {
		t.Errorf("NameID = %v", got)
	}
	if got := lr.FindElement("./SessionIndex"); got == nil || got.Text() != sessionIndex {
		t.Errorf("SessionIndex = %v, want %s", got, sessionIndex)
	}
	if got := lr.FindElement("./Issuer"); got == nil || got.Text() != e.idp.EntityID() {
		t.Errorf("Issuer = %v", got)
	}
	if got := lr.SelectAttrValue("Destination", ""); got != sp.sp.SloURL.String() {
		t.Errorf("Destination = %s", got)
	}
	if lr.FindElement("./Signature") == nil {
		t.Error("not signed")
	}
}

func TestSessionEndTellsServiceProviders(t *testing.T) {
	e := newEnv(t, nil)
	soap := e.newSP(spOptions{name: "SOAP", sloBindings: []string{crewsaml.SOAPBinding}})
	post := e.newSP(spOptions{name: "POST", sloBindings: []string{crewsaml.HTTPPostBinding}})
	none := e.newSP(spOptions{name: "No SLO"})
	b := e.browser()
	sid := signInTo(t, b, "alice@acme.example", soap, post, none)

	// However the session ends (an OIDC logout, an admin deleting the
	// user), every SAML participant with a back channel hears of it.
	must(t, e.login.EndSession(context.Background(), sid))
	e.idp.Wait()
	checkLogoutRequest(t, e, soap, "alice@acme.example", sid)
	checkLogoutRequest(t, e, post, "alice@acme.example", sid)
}

func TestSingleLogoutRedirectBinding(t *testing.T) {
	e := newEnv(t, nil)
	wiki := e.newSP(spOptions{name: "Wiki", signRequests: true, sloBindings: []string{crewsaml.HTTPRedirectBinding}})
	b := e.browser()
	sid := signInTo(t, b, "alice@acme.example", wiki)

	lr, err := wiki.sp.MakeLogoutRequest(wiki.sp.GetSLOBindingLocation(crewsaml.HTTPRedirectBinding), "alice@acme.example")
	must(t, err)
	// Stop at the redirect: the LogoutResponse is in its URL.
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := b.get(lr.Redirect("rs").String())
	if p.status != http.StatusFound {
		t.Fatalf("status %d, want a redirect:\n%s", p.status, p.body)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	must(t, err)
	if !strings.HasPrefix(loc.String(), wiki.sp.SloURL.String()+"?") {
		t.Fatalf("redirected to %s, want the SP's SingleLogoutService", loc)
	}
	q := loc.Query()
	if q.Get("RelayState") != "rs" || q.Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" {
		t.Errorf("RelayState %q SigAlg %q", q.Get("RelayState"), q.Get("SigAlg"))
	}
	// The query signature, checked as the bindings spec says an SP does:
	// over the parameters exactly as they appear in the URL.
	raw := loc.RawQuery
	signed := raw[:strings.Index(raw, "&Signature=")]
	sig, err := base64.StdEncoding.DecodeString(q.Get("Signature"))
	must(t, err)
	k, err := e.keys.Active("RS256")
	must(t, err)
	sum := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(k.Certificate.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("query signature: %v", err)
	}
	xml, err := decodeRedirect(q.Get("SAMLResponse"))
	must(t, err)
	if !strings.Contains(string(xml), statusSuccess) || strings.Contains(string(xml), "Signature") {
		t.Errorf("LogoutResponse: want Success and no XML signature:\n%s", xml)
	}
	if _, err := e.login.GetSession(context.Background(), sid); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("session still there: %v", err)
	}
}

func TestSingleLogoutRefusals(t *testing.T) {
	e := newEnv(t, nil)
	signer := e.newSP(spOptions{name: "Signer", signRequests: true, sloBindings: []string{crewsaml.HTTPPostBinding}})
	plain := e.newSP(spOptions{name: "Plain", sloBindings: []string{crewsaml.HTTPPostBinding}})
	outsider := e.newSP(spOptions{name: "Outsider", sloBindings: []string{crewsaml.HTTPPostBinding}})
	b := e.browser()
	sid := signInTo(t, b, "alice@acme.example", signer, plain)

	cases := []struct {
		name string
		lr   func() *crewsaml.LogoutRequest
		sub  string
	}{
		{"unsigned from an SP that signs", func() *crewsaml.LogoutRequest {
			lr := signer.logoutRequest("alice@acme.example", sid)
			lr.Signature = nil
			return lr
		}, crewsaml.StatusRequestDenied},
		{"someone else's NameID", func() *crewsaml.LogoutRequest {
			return plain.logoutRequest("bob@globex.example", sid)
		}, crewsaml.StatusUnknownPrincipal},
		{"unsigned, from an SP outside the session", func() *crewsaml.LogoutRequest {
			return outsider.logoutRequest("alice@acme.example", sid)
		}, crewsaml.StatusUnknownPrincipal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, sub := logoutStatus(t, e.browser().post("/saml/slo", postLogoutFields(t, c.lr(), "")))
			if code == statusSuccess || sub != c.sub {
				t.Fatalf("status %s/%s, want %s", code, sub, c.sub)
			}
			if _, err := e.login.GetSession(context.Background(), sid); err != nil {
				t.Fatalf("a refused LogoutRequest ended the session: %v", err)
			}
		})
	}

	t.Run("replayed", func(t *testing.T) {
		fields := postLogoutFields(t, plain.logoutRequest("alice@acme.example", sid), "")
		if code, _ := logoutStatus(t, e.browser().post("/saml/slo", fields)); code != statusSuccess {
			t.Fatalf("first: %s", code)
		}
		if code, sub := logoutStatus(t, e.browser().post("/saml/slo", fields)); code == statusSuccess || sub != crewsaml.StatusRequestDenied {
			t.Fatalf("replay: %s/%s", code, sub)
		}
	})
}

// A LogoutRequest posted from another site arrives without the SameSite
// session cookie; Gatehouse posts it to itself once more, from its own
// page, where the browser does send the cookie.
func TestSingleLogoutBounceForCookie(t *testing.T) {
	e := newEnv(t, nil)
	kb := e.newSP(spOptions{name: "KB", signRequests: true, sloBindings: []string{crewsaml.HTTPPostBinding}})
	b := e.browser()
	sid := signInTo(t, b, "alice@acme.example", kb)

	crossSite := &browser{t: t, e: e, c: &http.Client{}} // no cookies, as a cross-site POST
	p := crossSite.post("/saml/slo", postLogoutFields(t, kb.logoutRequest("alice@acme.example", ""), "rs"))
	action, form := formOf(t, p)
	if action != e.issuer+"/saml/slo" || form.Get("gh_bounce") != "1" {
		t.Fatalf("expected a page posting back to /saml/slo, got action %s form %v", action, form)
	}
	if _, err := e.login.GetSession(context.Background(), sid); err != nil {
		t.Fatalf("the session ended before the bounce: %v", err)
	}
	p = b.submit(p, nil)
	if code, _ := logoutStatus(t, p); code != statusSuccess {
		t.Fatalf("status %s", code)
	}
	if _, err := e.login.GetSession(context.Background(), sid); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("session still there: %v", err)
	}
}
