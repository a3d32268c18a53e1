package saml

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"gatehouse/provider/login"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

func TestSSORedirectBinding(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "Knowledge Base", sloBindings: []string{crewsaml.HTTPPostBinding}})
	b := e.browser()

	req := sp.authnRequest(crewsaml.HTTPRedirectBinding)
	p := b.signIn(b.get(sp.redirectURL(req, "kb-page-7")), "alice@acme.example")
	// The POST-binding page runs no inline script: the policy forbids it,
	// and the form is sent by a static file (or the Continue button).
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if strings.Contains(p.body, "<script>") || !strings.Contains(p.body, `<script src="/static/saml-post.js"></script>`) ||
		!strings.Contains(p.body, `<button type="submit">Continue</button>`) {
		t.Errorf("POST page:\n%s", p.body)
	}
	if js := b.get(e.srv.URL + "/static/saml-post.js"); js.status != http.StatusOK || !strings.Contains(js.body, "submit()") {
		t.Errorf("saml-post.js: %d", js.status)
	}
	res := b.deliver(p)

	if !res.OK {
		t.Fatalf("the SP refused the response: %s\n%s", res.Error, res.Raw)
	}
	checkAliceAssertion(t, res)
	if res.InResponseTo != req.ID {
		t.Errorf("InResponseTo = %q, want %q", res.InResponseTo, req.ID)
	}
	if res.RelayState != "kb-page-7" {
		t.Errorf("RelayState = %q, want kb-page-7", res.RelayState)
	}
	if res.ClassRef != classPPT {
		t.Errorf("AuthnContextClassRef = %q, want %s", res.ClassRef, classPPT)
	}
	checkResponseXML(t, e, sp, res.Raw, req.ID)

	// The session records the SP with what single logout needs.
	parts, err := e.login.Participants(context.Background(), res.SessionIndex)
	must(t, err)
	if len(parts) != 1 || parts[0].Protocol != login.ProtocolSAML || parts[0].RP != sp.sp.EntityID {
		t.Fatalf("participants = %+v, want the SP", parts)
	}
	if !strings.Contains(string(parts[0].Data), `"session_index":"`+res.SessionIndex+`"`) {
		t.Errorf("participant data %s lacks the SessionIndex", parts[0].Data)
	}
}

func TestSSOPostBinding(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "Ticket Portal"})
	b := e.browser()

	req := sp.authnRequest(crewsaml.HTTPPostBinding)
	p := b.post("/saml/sso", postFields(t, req, "after-login"))
	res := b.deliver(b.signIn(p, "alice@acme.example"))
	if !res.OK {
		t.Fatalf("the SP refused the response: %s\n%s", res.Error, res.Raw)
	}
	checkAliceAssertion(t, res)
	if res.InResponseTo != req.ID || res.RelayState != "after-login" {
		t.Errorf("InResponseTo %q RelayState %q, want %q after-login", res.InResponseTo, res.RelayState, req.ID)
	}
}

// checkAliceAssertion checks the subject and attributes of alice's
// assertion (INTERFACE.md section 7).
func checkAliceAssertion(t *testing.T, res acsResult) {
	t.Helper()
	if res.NameID != "alice@acme.example" || res.NameIDFormat != nameIDEmail {
		t.Errorf("NameID = %q (%s), want alice@acme.example (%s)", res.NameID, res.NameIDFormat, nameIDEmail)
	}
	want := map[string][]string{
		"email":      {"alice@acme.example"},
		"name":       {"Alice Admin"},
		"roles":      {"admin"},
		"partner_id": {"acme"},
		"user_kind":  {"employee"},
	}
	for name, vals := range want {
		if got := res.Attributes[name]; !slices.Equal(got, vals) {
			t.Errorf("attribute %s = %q, want %q", name, got, vals)
		}
	}
	if res.SessionIndex == "" {
		t.Error("no SessionIndex")
	}
}

// checkResponseXML looks at the Response as posted: both the Response and
// the Assertion carry an RSA-SHA256 signature that verifies on its own
// against the metadata certificate, and the attributes, subject
// confirmation and conditions have the names and formats SPs match on.
func checkResponseXML(t *testing.T, e *env, sp *testSP, raw, inResponseTo string) {
	t.Helper()
	doc := etree.NewDocument()
	must(t, doc.ReadFromString(raw))
	resp := doc.Root()
	assertion := resp.FindElement("./Assertion")
	if assertion == nil {
		t.Fatalf("no Assertion:\n%s", raw)
	}
	for _, el := range []*etree.Element{resp, assertion} {
		sig := el.FindElement("./Signature")
		if sig == nil {
			t.Fatalf("%s is not signed", el.Tag)
		}
		if m := sig.FindElement("./SignedInfo/SignatureMethod").SelectAttrValue("Algorithm", ""); m != dsig.RSASHA256SignatureMethod {
			t.Errorf("%s SignatureMethod = %s", el.Tag, m)
		}
		// Each signature alone, on a detached copy, as an SP that checks
		// only the assertion (or only the response) would.
		if err := sp.verifyFromIdP(el.Copy()); err != nil {
			t.Errorf("%s signature: %v", el.Tag, err)
		}
	}
	if got := resp.SelectAttrValue("InResponseTo", ""); got != inResponseTo {
		t.Errorf("Response InResponseTo = %q, want %q", got, inResponseTo)
	}
	if got := resp.SelectAttrValue("Destination", ""); got != sp.sp.AcsURL.String() {
		t.Errorf("Destination = %q, want the ACS", got)
	}
	for _, name := range []string{"email", "name", "roles", "partner_id", "user_kind"} {
		a := assertion.FindElement("./AttributeStatement/Attribute[@Name='" + name + "']")
		if a == nil {
			t.Errorf("no attribute %s", name)
			continue
		}
		if f := a.SelectAttrValue("NameFormat", ""); f != attrNameBasic {
			t.Errorf("attribute %s NameFormat = %s", name, f)
		}
		for _, v := range a.SelectElements("AttributeValue") {
			if ty := v.SelectAttrValue("xsi:type", ""); ty != "xs:string" {
				t.Errorf("attribute %s value type = %q", name, ty)
			}
		}
	}
	scd := assertion.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData")
	if scd == nil || scd.SelectAttrValue("Recipient", "") != sp.sp.AcsURL.String() ||
		scd.SelectAttrValue("NotOnOrAfter", "") == "" || scd.SelectAttrValue("InResponseTo", "") != inResponseTo {
		t.Errorf("SubjectConfirmationData incomplete: %v", scd)
	}
	if m := assertion.FindElement("./Subject/SubjectConfirmation").SelectAttrValue("Method", ""); m != bearer {
		t.Errorf("SubjectConfirmation Method = %s", m)
	}
	cond := assertion.FindElement("./Conditions")
	if cond == nil || cond.SelectAttrValue("NotBefore", "") == "" || cond.SelectAttrValue("NotOnOrAfter", "") == "" {
		t.Errorf("Conditions lack NotBefore/NotOnOrAfter")
	} else if aud := cond.FindElement("./AudienceRestriction/Audience"); aud == nil || aud.Text() != sp.sp.EntityID {
		t.Errorf("Audience = %v, want %s", aud, sp.sp.EntityID)
	}
}

func TestSSOSecondServiceReusesSession(t *testing.T) {
	e := newEnv(t, nil)
	kb := e.newSP(spOptions{name: "Knowledge Base"})
	portal := e.newSP(spOptions{name: "Ticket Portal"})
	b := e.browser()

	first := b.deliver(b.signIn(b.get(kb.redirectURL(kb.authnRequest(crewsaml.HTTPRedirectBinding), "")), "alice@acme.example"))
	if !first.OK {
		t.Fatalf("first SP: %s", first.Error)
	}
	// No sign-in page the second time: the session answers.
	p := b.get(portal.redirectURL(portal.authnRequest(crewsaml.HTTPRedirectBinding), ""))
	if isLoginPage(p) {
		t.Fatal("the second service showed the sign-in page despite the session")
	}
	second := b.deliver(p)
	if !second.OK {
		t.Fatalf("second SP: %s", second.Error)
	}
	if second.SessionIndex != first.SessionIndex {
		t.Errorf("SessionIndex %q then %q: one session, one index", first.SessionIndex, second.SessionIndex)
	}
	parts, err := e.login.Participants(context.Background(), first.SessionIndex)
	must(t, err)
	if len(parts) != 2 {
		t.Errorf("participants = %d, want both SPs", len(parts))
	}

	// ForceAuthn asks for the password again despite the session.
	force := true
	req := portal.authnRequest(crewsaml.HTTPRedirectBinding)
	req.ForceAuthn = &force
	if p := b.get(portal.redirectURL(req, "")); !isLoginPage(p) {
		t.Errorf("ForceAuthn: got %d %s, want the sign-in page", p.status, p.url)
	}
}

func TestSSOSignedRequests(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "Signed", signRequests: true})

	t.Run("redirect binding, query signature", func(t *testing.T) {
		b := e.browser()
		res := b.deliver(b.signIn(b.get(sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), "rs")), "alice@acme.example"))
		if !res.OK {
			t.Fatalf("refused: %s", res.Error)
		}
	})
	t.Run("post binding, enveloped signature", func(t *testing.T) {
		b := e.browser()
		res := b.deliver(b.signIn(b.post("/saml/sso", postFields(t, sp.authnRequest(crewsaml.HTTPPostBinding), "")), "alice@acme.example"))
		if !res.OK {
			t.Fatalf("refused: %s", res.Error)
		}
	})

	refused := func(t *testing.T, p visit) {
		t.Helper()
		if isLoginPage(p) {
			t.Fatal("an unsigned or tampered request reached the sign-in page")
		}
		res := e.browser().deliver(p)
		if res.OK || res.Status != crewsaml.StatusRequester || res.SubStatus != crewsaml.StatusRequestDenied {
			t.Fatalf("got ok=%v %s/%s, want Requester/RequestDenied", res.OK, res.Status, res.SubStatus)
		}
		if strings.Contains(res.Raw, "Assertion") {
			t.Fatal("a refusal carries an assertion")
		}
	}
	t.Run("unsigned redirect refused", func(t *testing.T) {
		u := sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), "")
		u = u[:strings.Index(u, "&SigAlg=")]
		refused(t, e.browser().get(u))
	})
	t.Run("tampered redirect refused", func(t *testing.T) {
		u := sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), "a")
		refused(t, e.browser().get(strings.Replace(u, "RelayState=a", "RelayState=b", 1)))
	})
	t.Run("unsigned post refused", func(t *testing.T) {
		req := sp.authnRequest(crewsaml.HTTPPostBinding)
		req.Signature = nil
		refused(t, e.browser().post("/saml/sso", postFields(t, req, "")))
	})
	t.Run("tampered post refused", func(t *testing.T) {
		req := sp.authnRequest(crewsaml.HTTPPostBinding)
		req.AssertionConsumerServiceIndex = "1" // not what was signed
		refused(t, e.browser().post("/saml/sso", postFields(t, req, "")))
	})
}

func TestSSOReplayedRequestRefused(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "KB"})
	u := sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), "")
	b := e.browser()
	if res := b.deliver(b.signIn(b.get(u), "alice@acme.example")); !res.OK {
		t.Fatalf("first use: %s", res.Error)
	}
	// The same request again, from the same signed-in browser.
	res := b.deliver(b.get(u))
	if res.OK || res.SubStatus != crewsaml.StatusRequestDenied {
		t.Fatalf("replay: ok=%v %s/%s, want RequestDenied", res.OK, res.Status, res.SubStatus)
	}
}

func TestSSOAllowedRolesRefused(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "Owners only", allowedRoles: []string{"owner", "super_admin"}})
	b := e.browser()
	req := sp.authnRequest(crewsaml.HTTPRedirectBinding)
	res := b.deliver(b.signIn(b.get(sp.redirectURL(req, "")), "alice@acme.example"))
	if res.OK {
		t.Fatal("an admin got an assertion for an owners-only service")
	}
	if res.Status != crewsaml.StatusResponder || res.SubStatus != crewsaml.StatusRequestDenied {
		t.Fatalf("status %s/%s, want Responder/RequestDenied (%s)", res.Status, res.SubStatus, res.Error)
	}
	doc := etree.NewDocument()
	must(t, doc.ReadFromString(res.Raw))
	if doc.FindElement("//Assertion") != nil {
		t.Fatal("the refusal carries an assertion")
	}
	if doc.Root().FindElement("./Signature") == nil {
		t.Error("the refusal is not signed")
	}
	if got := doc.Root().SelectAttrValue("InResponseTo", ""); got != req.ID {
		t.Errorf("InResponseTo = %q, want %q", got, req.ID)
	}
}

func TestSSOPassiveWithoutSession(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "KB"})
	passive := true
	req := sp.authnRequest(crewsaml.HTTPRedirectBinding)
	req.IsPassive = &passive
	res := e.browser().deliver(e.browser().get(sp.redirectURL(req, "")))
	if res.OK || res.Status != crewsaml.StatusResponder || res.SubStatus != crewsaml.StatusNoPassive {
		t.Fatalf("got ok=%v %s/%s, want Responder/NoPassive", res.OK, res.Status, res.SubStatus)
	}
}

func TestSSORequestedAuthnContext(t *testing.T) {
	e := newEnv(t, nil)
	ppt := e.newSP(spOptions{name: "PPT", requestedCtx: &crewsaml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: classPPT}})
	smartcard := e.newSP(spOptions{name: "Smartcard", requestedCtx: &crewsaml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard"}})
	b := e.browser()
	res := b.deliver(b.signIn(b.get(ppt.redirectURL(ppt.authnRequest(crewsaml.HTTPRedirectBinding), "")), "alice@acme.example"))
	if !res.OK || res.ClassRef != classPPT {
		t.Fatalf("PasswordProtectedTransport: ok=%v class %q (%s)", res.OK, res.ClassRef, res.Error)
	}
	res = b.deliver(b.get(smartcard.redirectURL(smartcard.authnRequest(crewsaml.HTTPRedirectBinding), "")))
	if res.OK || res.SubStatus != crewsaml.StatusNoAuthnContext {
		t.Fatalf("Smartcard: ok=%v %s/%s, want NoAuthnContext", res.OK, res.Status, res.SubStatus)
	}
}

func TestSSORefusedWithAPage(t *testing.T) {
	e := newEnv(t, nil)
	known := e.newSP(spOptions{name: "Known"})
	stranger := e.newSP(spOptions{unregistered: true})

	cases := []struct {
		name   string
		do     func(b *browser) visit
		status int
	}{
		{"unknown service provider", func(b *browser) visit {
			return b.get(stranger.redirectURL(stranger.authnRequest(crewsaml.HTTPRedirectBinding), ""))
		}, http.StatusBadRequest},
		{"unregistered assertion consumer service", func(b *browser) visit {
			req := known.authnRequest(crewsaml.HTTPRedirectBinding)
			req.AssertionConsumerServiceURL = "https://attacker.example/acs"
			return b.get(known.redirectURL(req, ""))
		}, http.StatusBadRequest},
		{"unregistered ACS index", func(b *browser) visit {
			req := known.authnRequest(crewsaml.HTTPRedirectBinding)
			req.AssertionConsumerServiceURL = ""
			req.AssertionConsumerServiceIndex = "9"
			return b.get(known.redirectURL(req, ""))
		}, http.StatusBadRequest},
		{"no SAMLRequest", func(b *browser) visit { return b.get("/saml/sso") }, http.StatusBadRequest},
		{"not base64", func(b *browser) visit { return b.get("/saml/sso?SAMLRequest=%%%") }, http.StatusBadRequest},
		{"not deflated", func(b *browser) visit { return b.get("/saml/sso?SAMLRequest=aGVsbG8=") }, http.StatusBadRequest},
		{"not an AuthnRequest", func(b *browser) visit {
			return b.post("/saml/sso", map[string][]string{"SAMLRequest": {"PGZvby8+"}}) // <foo/>
		}, http.StatusBadRequest},
		{"oversized post", func(b *browser) visit {
			return b.post("/saml/sso", map[string][]string{"SAMLRequest": {strings.Repeat("QUFB", 30000)}})
		}, http.StatusRequestEntityTooLarge},
		{"oversized once inflated", func(b *browser) visit {
			return b.get("/saml/sso?SAMLRequest=" + deflateB64(t, strings.Repeat("A", 200<<10)))
		}, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.do(e.browser())
			if p.status != c.status {
				t.Fatalf("status %d, want %d:\n%s", p.status, c.status, p.body)
			}
			if strings.Contains(p.body, "SAMLResponse") {
				t.Fatal("the page carries a SAML response")
			}
			if !strings.Contains(p.body, `class="card"`) {
				t.Fatalf("not a Gatehouse page:\n%s", p.body)
			}
		})
	}
}

func TestSSOStaleOrFutureRequestRefused(t *testing.T) {
	e := newEnv(t, nil)
	sp := e.newSP(spOptions{name: "KB"})
	for name, shift := range map[string]int{"stale": -10, "future": 10} {
		t.Run(name, func(t *testing.T) {
			req := sp.authnRequest(crewsaml.HTTPRedirectBinding)
			req.IssueInstant = req.IssueInstant.Add(timeMinutes(shift))
			res := e.browser().deliver(e.browser().get(sp.redirectURL(req, "")))
			if res.OK || res.Status != crewsaml.StatusRequester || res.SubStatus != crewsaml.StatusRequestDenied {
				t.Fatalf("got ok=%v %s/%s, want Requester/RequestDenied", res.OK, res.Status, res.SubStatus)
			}
		})
	}
}

// Gatehouse served under a path: the routes, the entity ID and every
// endpoint in the metadata hang off the issuer's path.
func TestIssuerWithPath(t *testing.T) {
	e := newEnvAt(t, "/auth", nil)
	if e.idp.EntityID() != e.srv.URL+"/auth/saml/metadata" {
		t.Fatalf("entity ID %s", e.idp.EntityID())
	}
	sp := e.newSP(spOptions{name: "KB"})
	if loc := sp.sp.GetSSOBindingLocation(crewsaml.HTTPRedirectBinding); loc != e.srv.URL+"/auth/saml/sso" {
		t.Fatalf("SSO location %s", loc)
	}
	b := e.browser()
	req := sp.authnRequest(crewsaml.HTTPRedirectBinding)
	p := b.get(sp.redirectURL(req, ""))
	if p.url.Path != "/auth/login" {
		t.Fatalf("sign-in page at %s", p.url.Path)
	}
	res := b.deliver(b.signIn(p, "alice@acme.example"))
	if !res.OK {
		t.Fatalf("refused: %s", res.Error)
	}
	checkAliceAssertion(t, res)
}

// The same sign-in, replay refusal and single logout on PostgreSQL and
// Redis, the production backends.
func TestSSOOnPostgresAndRedis(t *testing.T) {
	e := newEnvOn(t, "", &testClock{}, sqltest.Postgres(t), ephemeraltest.Redis(t), nil)
	kb := e.newSP(spOptions{name: "KB", sloBindings: []string{crewsaml.HTTPPostBinding}})
	portal := e.newSP(spOptions{name: "Portal", sloBindings: []string{crewsaml.SOAPBinding}})
	b := e.browser()

	req := kb.authnRequest(crewsaml.HTTPRedirectBinding)
	u := kb.redirectURL(req, "")
	res := b.deliver(b.signIn(b.get(u), "alice@acme.example"))
	if !res.OK {
		t.Fatalf("refused: %s", res.Error)
	}
	checkAliceAssertion(t, res)
	if again := b.deliver(b.get(u)); again.OK || again.SubStatus != crewsaml.StatusRequestDenied {
		t.Fatalf("replay: ok=%v %s", again.OK, again.SubStatus)
	}
	sid := signInTo(t, b, "alice@acme.example", portal)
	if sid != res.SessionIndex {
		t.Fatalf("two sessions: %s and %s", res.SessionIndex, sid)
	}
	p := b.post("/saml/slo", postLogoutFields(t, kb.logoutRequest("alice@acme.example", sid), ""))
	if code, _ := logoutStatus(t, p); code != statusSuccess {
		t.Fatalf("LogoutResponse %s", code)
	}
	e.idp.Wait()
	checkLogoutRequest(t, e, portal, "alice@acme.example", sid)
}
