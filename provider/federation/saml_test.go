package federation_test

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
)

// samlSignIn signs in as username and stops at the IdP's auto-posting
// form, which carries the signed Response to Gatehouse's ACS.
func (b *browser) samlSignIn(username string) samlPost {
	b.t.Helper()
	p := b.signIn(username, "")
	if p.url.Host != strings.TrimPrefix(b.e.saml.srv.URL, "http://") {
		b.t.Fatalf("expected the IdP's page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return p.samlForm(b.t)
}

// deliver posts the IdP's form to the ACS, as the IdP's page script does.
func (b *browser) deliver(sp samlPost) page {
	b.t.Helper()
	return b.post(sp.action, sp.form)
}

// mutate rewrites the posted Response.
func mutate(t *testing.T, sp samlPost, fn func(root *etree.Element)) samlPost {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(sp.form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	fn(doc.Root())
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range sp.form {
		form[k] = v
	}
	form.Set("SAMLResponse", base64.StdEncoding.EncodeToString(out))
	return samlPost{action: sp.action, form: form}
}

func childNamed(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// setEmail rewrites every attribute value and the NameID of an assertion.
func setIdentity(a *etree.Element, nameID, email string) {
	for _, v := range a.FindElements(".//AttributeValue") {
		if strings.Contains(v.Text(), "@") {
			v.SetText(email)
		}
	}
	if n := a.FindElement("./Subject/NameID"); n != nil {
		n.SetText(nameID)
	}
}

func TestSAMLSignInThroughPartnerConnection(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.saml.next("okta-sam", "SAM@Beta.example")
	post := b.samlSignIn("sam@beta.example")

	// The AuthnRequest names Gatehouse's SP, its ACS, and was signed in
	// the redirect's query.
	req := e.saml.lastReq
	if req.Issuer == nil || req.Issuer.Value != e.srv.URL+"/federation/beta-saml/metadata" || req.AssertionConsumerServiceURL != e.srv.URL+"/federation/beta-saml/acs" {
		t.Fatalf("AuthnRequest: %+v", req)
	}
	signed := false
	for _, v := range b.visits {
		if v.Path == "/sso" && v.Query().Get("Signature") != "" && v.Query().Get("SigAlg") != "" {
			signed = true
		}
	}
	if !signed {
		t.Fatalf("the AuthnRequest was not signed: %v", b.visits)
	}
	if post.action != e.srv.URL+"/federation/beta-saml/acs" {
		t.Fatalf("the IdP posts to %s", post.action)
	}

	r := b.deliver(post).result(t)
	if r.UserID != "u-sam" || !slices.Equal(r.AMR, []string{"fed"}) || r.ACR != "fed" {
		t.Fatalf("federated SAML sign-in: %+v", r)
	}
	if got := e.user("u-sam").UpstreamSubject; got != "beta-saml|okta-sam" {
		t.Fatalf("upstream subject stored as %q", got)
	}
}

func TestSAMLTransientNameIDNotStored(t *testing.T) {
	e := newEnv(t)
	e.saml.setHook(func(a *saml.Assertion) { a.Subject.NameID.Format = string(saml.TransientNameIDFormat) })
	for i := range 2 {
		e.saml.next(fmt.Sprintf("transient-%d", i), "sam@beta.example")
		b := e.browser()
		if r := b.deliver(b.samlSignIn("sam@beta.example")).result(t); r.UserID != "u-sam" {
			t.Fatalf("sign-in %d: %+v", i, r)
		}
	}
	if got := e.user("u-sam").UpstreamSubject; got != "" {
		t.Fatalf("a transient NameID was stored: %q", got)
	}
}

func TestSAMLServiceProviderMetadata(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := b.get("/federation/beta-saml/metadata")
	if p.status != http.StatusOK {
		t.Fatalf("metadata: %d %s", p.status, p.body)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(p.body), &ed); err != nil {
		t.Fatal(err)
	}
	if ed.EntityID != e.srv.URL+"/federation/beta-saml/metadata" || len(ed.SPSSODescriptors) != 1 {
		t.Fatalf("metadata: %+v", ed)
	}
	d := ed.SPSSODescriptors[0]
	if len(d.AssertionConsumerServices) != 1 || d.AssertionConsumerServices[0].Location != e.srv.URL+"/federation/beta-saml/acs" || d.AssertionConsumerServices[0].Binding != saml.HTTPPostBinding {
		t.Fatalf("ACS: %+v", d.AssertionConsumerServices)
	}
	if d.WantAssertionsSigned == nil || !*d.WantAssertionsSigned || d.AuthnRequestsSigned == nil || !*d.AuthnRequestsSigned {
		t.Fatalf("signing flags: %+v", d)
	}
	for _, k := range d.KeyDescriptors {
		if k.Use != "signing" {
			t.Fatalf("key descriptor for %q", k.Use)
		}
	}
	if len(d.KeyDescriptors) == 0 {
		t.Fatal("no signing certificate")
	}
	for _, path := range []string{"/federation/acme-oidc/metadata", "/federation/nope/metadata"} {
		if p := b.get(path); p.status != http.StatusNotFound {
			t.Fatalf("%s: %d", path, p.status)
		}
	}
}

func TestSAMLTamperedResponsesRefused(t *testing.T) {
	flip := func(sv *etree.Element) {
		sig, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sv.Text()), ""))
		sig[len(sig)/2] ^= 0x01
		sv.SetText(base64.StdEncoding.EncodeToString(sig))
	}
	cases := []struct {
		name string
		fn   func(root *etree.Element)
	}{
		{"response signature bit flipped", func(root *etree.Element) {
			flip(root.FindElement("./Signature/SignatureValue"))
		}},
		{"assertion signature bit flipped, response unsigned", func(root *etree.Element) {
			root.RemoveChild(childNamed(root, "Signature"))
			flip(root.FindElement("./Assertion/Signature/SignatureValue"))
		}},
		{"email changed", func(root *etree.Element) {
			setIdentity(childNamed(root, "Assertion"), "okta-sam", "sam@beta.example")
		}},
		{"email changed, response unsigned", func(root *etree.Element) {
			root.RemoveChild(childNamed(root, "Signature"))
			setIdentity(childNamed(root, "Assertion"), "okta-sam", "sam@beta.example")
		}},
		{"signatures removed", func(root *etree.Element) {
			root.RemoveChild(childNamed(root, "Signature"))
			a := childNamed(root, "Assertion")
			a.RemoveChild(childNamed(a, "Signature"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.browser()
			// Mallory signs in upstream as herself and edits the answer.
			e.saml.next("okta-mallory", "mallory@beta.example")
			post := mutate(t, b.samlSignIn("sam@beta.example"), tc.fn)
			p := b.deliver(post)
			if p.status != http.StatusBadRequest || p.url.Path != "/federation/beta-saml/continue" || !strings.Contains(p.message(), "could not be trusted") {
				t.Fatalf("%d %s: %s\n%s", p.status, p.url, p.message(), p.body)
			}
			if p.link("federation-retry") == "" {
				t.Fatalf("no way to try again:\n%s", p.body)
			}
			evs := e.audit("beta", "federation.rejected")
			if len(evs) != 1 || evs[0].Details["reason"] != "bad_signature" || evs[0].Target != "u-sam" {
				t.Fatalf("audit: %+v", evs)
			}
			if u := e.user("u-sam"); u.UpstreamSubject != "" {
				t.Fatalf("user changed: %+v", u)
			}
		})
	}
}

// wrap builds the classic signature-wrapping forgeries from Mallory's
// genuine Response: a second assertion naming Sam, beside or around the
// signed one, so that a careless SP verifies one and reads the other.
var wraps = []struct {
	name string
	fn   func(root *etree.Element)
}{
	{"forged assertion first", func(root *etree.Element) {
		orig := childNamed(root, "Assertion")
		evil := orig.Copy()
		evil.RemoveChild(childNamed(evil, "Signature"))
		evil.CreateAttr("ID", "id-evil")
		setIdentity(evil, "okta-sam", "sam@beta.example")
		root.InsertChildAt(orig.Index(), evil)
	}},
	{"forged assertion first, response unsigned", func(root *etree.Element) {
		root.RemoveChild(childNamed(root, "Signature"))
		orig := childNamed(root, "Assertion")
		evil := orig.Copy()
		evil.RemoveChild(childNamed(evil, "Signature"))
		evil.CreateAttr("ID", "id-evil")
		setIdentity(evil, "okta-sam", "sam@beta.example")
		root.InsertChildAt(orig.Index(), evil)
	}},
	{"signed assertion inside the forged one", func(root *etree.Element) {
		orig := childNamed(root, "Assertion")
		evil := orig.Copy()
		evil.RemoveChild(childNamed(evil, "Signature"))
		evil.CreateAttr("ID", "id-evil")
		setIdentity(evil, "okta-sam", "sam@beta.example")
		root.RemoveChild(orig)
		advice := evil.CreateElement("saml:Advice")
		advice.AddChild(orig)
		root.AddChild(evil)
	}},
	{"forged assertion carrying the signature", func(root *etree.Element) {
		root.RemoveChild(childNamed(root, "Signature"))
		orig := childNamed(root, "Assertion")
		evil := orig.Copy()
		setIdentity(evil, "okta-sam", "sam@beta.example")
		evil.CreateAttr("ID", "id-evil")
		sig := childNamed(orig, "Signature")
		orig.RemoveChild(sig)
		// The original, unsigned, hides in the forged one's signature.
		sig.AddChild(orig)
		evil.RemoveChild(childNamed(evil, "Signature"))
		evil.InsertChildAt(2, sig)
		root.RemoveChild(orig)
		root.AddChild(evil)
	}},
}

func TestSAMLWrappedAssertionsRefused(t *testing.T) {
	for _, tc := range wraps {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.browser()
			e.saml.next("okta-mallory", "mallory@beta.example")
			genuine := b.samlSignIn("sam@beta.example")
			forged := mutate(t, genuine, tc.fn)
			if a := crewjamAlone(t, e, genuine); a == nil || a.Subject.NameID.Value != "okta-mallory" {
				t.Fatalf("crewjam refuses the genuine response: %+v", a)
			}

			// crewjam's own checks, without Gatehouse's: the forgery never
			// yields Sam.
			if a := crewjamAlone(t, e, forged); a != nil && (a.Subject.NameID.Value != "okta-mallory" || strings.Contains(fmt.Sprint(a.AttributeStatements), "sam@beta.example")) {
				t.Fatalf("crewjam accepted the forged assertion: %+v", a)
			} else {
				t.Logf("crewjam alone: accepted the genuine assertion inside: %v", a != nil)
			}

			p := b.deliver(forged)
			if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "could not be trusted") {
				t.Fatalf("%d %s: %s", p.status, p.url, p.message())
			}
			evs := e.audit("beta", "federation.rejected")
			if len(evs) != 1 || evs[0].Details["reason"] != "wrapped" {
				t.Fatalf("audit: %+v", evs)
			}
			if u := e.user("u-sam"); u.UpstreamSubject != "" {
				t.Fatalf("user changed: %+v", u)
			}
		})
	}
}

// crewjamAlone runs crewjam's ParseXMLResponse as Gatehouse configures it,
// on a Response, and returns the assertion it accepts, if any.
func crewjamAlone(t *testing.T, e *env, sp samlPost) *saml.Assertion {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(sp.form.Get("SAMLResponse"))
	res, err := http.Get(e.saml.srv.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var idp saml.EntityDescriptor
	if err := xml.NewDecoder(res.Body).Decode(&idp); err != nil {
		t.Fatal(err)
	}
	md, _ := url.Parse(e.srv.URL + "/federation/beta-saml/metadata")
	acs, _ := url.Parse(e.srv.URL + "/federation/beta-saml/acs")
	csp := &saml.ServiceProvider{EntityID: md.String(), MetadataURL: *md, AcsURL: *acs, IDPMetadata: &idp}
	a, err := csp.ParseXMLResponse(raw, []string{e.saml.lastReq.ID}, *acs)
	if err != nil {
		return nil
	}
	return a
}

func TestSAMLAudienceRequired(t *testing.T) {
	cases := map[string]func(a *saml.Assertion){
		"another audience": func(a *saml.Assertion) {
			a.Conditions.AudienceRestrictions[0].Audience.Value = "https://another-sp.example/metadata"
		},
		// crewjam's default accepts an assertion restricted to nobody.
		"no audience": func(a *saml.Assertion) { a.Conditions.AudienceRestrictions = nil },
	}
	for name, hook := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.saml.setHook(hook)
			e.saml.next("okta-sam", "sam@beta.example")
			b := e.browser()
			p := b.deliver(b.samlSignIn("sam@beta.example"))
			if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "could not be trusted") {
				t.Fatalf("%d %s: %s", p.status, p.url, p.message())
			}
			evs := e.audit("beta", "federation.rejected")
			if len(evs) != 1 || evs[0].Details["reason"] != "wrong_audience" {
				t.Fatalf("audit: %+v", evs)
			}
			if u := e.user("u-sam"); u.UpstreamSubject != "" {
				t.Fatalf("user changed: %+v", u)
			}
		})
	}
}

func TestSAMLReplayRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.saml.next("okta-sam", "sam@beta.example")
	post := b.samlSignIn("sam@beta.example")
	if r := b.deliver(post).result(t); r.UserID != "u-sam" {
		t.Fatalf("first delivery: %+v", r)
	}

	// The same Response again, from the same browser or another.
	for _, who := range []*browser{b, e.browser()} {
		p := who.deliver(post)
		if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "already used") {
			t.Fatalf("replay: %d %s", p.status, p.message())
		}
	}
	if evs := e.audit("beta", "federation.replay"); len(evs) != 2 {
		t.Fatalf("%d federation.replay events, want 2", len(evs))
	}

	// The same Response for a sign-in it does not answer (another
	// RelayState, so another AuthnRequest): refused.
	b2 := e.browser()
	e.saml.next("okta-sam", "sam@beta.example")
	fresh := b2.samlSignIn("sam@beta.example")
	stolen := samlPost{action: post.action, form: url.Values{"SAMLResponse": post.form["SAMLResponse"], "RelayState": fresh.form["RelayState"]}}
	p := b2.deliver(stolen)
	if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "could not be trusted") {
		t.Fatalf("response for another request: %d %s", p.status, p.message())
	}
	if evs := e.audit("beta", "federation.rejected"); len(evs) != 1 || evs[0].Details["reason"] != "wrong_request" {
		t.Fatalf("audit: %+v", evs)
	}
}

func TestSAMLAssertionIDSeenOnce(t *testing.T) {
	e := newEnv(t)
	// An IdP that issues the same assertion twice, each time for a new
	// AuthnRequest: the second is a replay.
	e.saml.setHook(func(a *saml.Assertion) { a.ID = "id-always-the-same" })
	e.saml.next("okta-sam", "sam@beta.example")
	b := e.browser()
	if r := b.deliver(b.samlSignIn("sam@beta.example")).result(t); r.UserID != "u-sam" {
		t.Fatalf("first: %+v", r)
	}
	e.saml.next("okta-sam", "sam@beta.example")
	b = e.browser()
	p := b.deliver(b.samlSignIn("sam@beta.example"))
	if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "could not be trusted") {
		t.Fatalf("second: %d %s", p.status, p.message())
	}
	if evs := e.audit("beta", "federation.replay"); len(evs) != 1 || evs[0].Details["reason"] != "replay" {
		t.Fatalf("audit: %+v", evs)
	}
}

func TestSAMLStaleOrUnsolicited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.saml.next("okta-sam", "sam@beta.example")
	post := b.samlSignIn("sam@beta.example")

	// Without RelayState: an IdP-initiated Response, not accepted.
	bare := samlPost{action: post.action, form: url.Values{"SAMLResponse": post.form["SAMLResponse"]}}
	if p := b.deliver(bare); p.status != http.StatusBadRequest || !strings.Contains(p.message(), "only for a sign-in that started at Gatehouse") {
		t.Fatalf("unsolicited: %d %s", p.status, p.message())
	}
	// Nothing posted.
	if p := b.post(post.action, url.Values{}); p.status != http.StatusBadRequest {
		t.Fatalf("empty post: %d", p.status)
	}
	// The state expired while the browser was at the IdP.
	e.clock.Advance(11 * time.Minute)
	p := b.deliver(post)
	if p.status != http.StatusBadRequest || !strings.Contains(p.message(), "no sign-in waiting") {
		t.Fatalf("stale: %d %s", p.status, p.message())
	}
	if u := e.user("u-sam"); u.UpstreamSubject != "" {
		t.Fatalf("user changed: %+v", u)
	}
}

func TestSAMLMismatchRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.saml.next("okta-mallory", "mallory@beta.example")
	p := b.deliver(b.samlSignIn("sam@beta.example"))
	if p.status != http.StatusForbidden || !strings.Contains(p.message(), "This account at Beta Okta (mallory@beta.example) is not the Gatehouse user you signed in as (sam@beta.example).") {
		t.Fatalf("mismatch: %d %s", p.status, p.message())
	}
	if evs := e.audit("beta", "federation.mismatch"); len(evs) != 1 || evs[0].Target != "u-sam" {
		t.Fatalf("audit: %+v", evs)
	}
	if u := e.user("u-sam"); u.UpstreamSubject != "" {
		t.Fatalf("user changed: %+v", u)
	}
	// Try again: ForceAuthn this time, and the right account gets in.
	e.saml.next("okta-sam", "sam@beta.example")
	p = b.get(p.link("federation-retry"))
	if e.saml.lastReq.ForceAuthn == nil || !*e.saml.lastReq.ForceAuthn {
		t.Fatalf("the retry did not force authentication: %+v", e.saml.lastReq)
	}
	if r := b.deliver(p.samlForm(t)).result(t); r.UserID != "u-sam" || !slices.Equal(r.AMR, []string{"fed"}) {
		t.Fatalf("retry: %+v", r)
	}
}

func TestSAMLIdPRefusal(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.saml.next("okta-sam", "sam@beta.example")
	post := b.samlSignIn("sam@beta.example")
	// The IdP answers the request with a failure status instead.
	failed := fmt.Sprintf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-fail" Version="2.0" IssueInstant="%s" Destination="%s" InResponseTo="%s"><saml:Issuer>%s</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status></samlp:Response>`,
		time.Now().UTC().Format(time.RFC3339), post.action, e.saml.lastReq.ID, e.saml.srv.URL+"/metadata")
	post.form.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(failed)))
	p := b.deliver(post)
	if p.status != http.StatusForbidden || !strings.Contains(p.message(), "Beta Okta did not sign you in") {
		t.Fatalf("refusal: %d %s\n%s", p.status, p.message(), p.body)
	}
	if p.link("federation-retry") == "" {
		t.Fatalf("no retry:\n%s", p.body)
	}
}
