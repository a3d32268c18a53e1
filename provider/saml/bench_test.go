package saml

import (
	"context"
	"strings"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"
)

// BenchmarkAssertion measures assertions per second for a user who already
// has a session: each iteration is one AuthnRequest through the HTTP server
// (/saml/sso, the flow answered from the session, /saml/resume) ending in
// the signed Response page. Its ceiling is the XML signing step (two
// enveloped RSA-SHA256 signatures: the Assertion, then the Response over
// prepared elements), measured in the same run: one signing step after
// each iteration, outside the benchmark's timer, so that both rates see the
// same load on a shared machine. ratio_to_xml_sign is the end-to-end rate
// over the signing rate.
func BenchmarkAssertion(b *testing.B) {
	e := newEnv(b, nil)
	sp := e.newSP(spOptions{name: "Bench"})
	br := e.browser()
	sid := signInTo(b, br, "alice@acme.example", sp)

	urls := make([]string, b.N)
	for i := range urls {
		urls[i] = sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), "")
	}
	sign := signingStep(b, e, sid)

	var signing time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := br.get(urls[i])
		if p.status != 200 || !strings.Contains(p.body, `name="SAMLResponse"`) {
			b.Fatalf("iteration %d: %d %s", i, p.status, p.url)
		}
		b.StopTimer()
		start := time.Now()
		sign()
		signing += time.Since(start)
		b.StartTimer()
	}
	b.StopTimer()

	rate := float64(b.N) / b.Elapsed().Seconds()
	signRate := float64(b.N) / signing.Seconds()
	b.ReportMetric(rate, "assertions/s")
	b.ReportMetric(signRate, "xml_signs/s")
	b.ReportMetric(rate/signRate, "ratio_to_xml_sign")
}

// signingStep returns the step no assertion can avoid: signing an
// Assertion and the Response around it with the active key, over elements
// prepared once.
func signingStep(b *testing.B, e *env, sid string) func() {
	b.Helper()
	u, err := e.store.GetUser(context.Background(), "u-alice")
	must(b, err)
	s, err := e.idp.activeSigner()
	must(b, err)
	g := grant{spEntityID: "https://sp.example/metadata", acs: "https://sp.example/acs", inResponseTo: "_req",
		user: u, sessionIndex: sid, authnInstant: time.Now(), classRef: classPPT}
	now := time.Now().UTC()
	a := e.idp.assertion("_a", g, now)
	resp := (&crewsaml.Response{ID: "_r", Version: samlVersion, IssueInstant: now, Destination: g.acs,
		Issuer: &crewsaml.Issuer{Value: e.idp.EntityID()}, Status: crewsaml.Status{StatusCode: crewsaml.StatusCode{Value: statusSuccess}}}).Element()
	resp.AddChild(a.Element())
	aEl := a.Element()
	return func() {
		if _, err := s.signature(aEl); err != nil {
			b.Fatal(err)
		}
		if _, err := s.signature(resp); err != nil {
			b.Fatal(err)
		}
	}
}
