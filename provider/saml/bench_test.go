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
// enveloped RSA-SHA256 signatures: the Assertion, then the Response),
// measured in the same run for as many iterations; ratio_to_xml_sign is
// the end-to-end rate over the signing rate.
func BenchmarkAssertion(b *testing.B) {
	e := newEnv(b, nil)
	sp := e.newSP(spOptions{name: "Bench"})
	br := e.browser()
	sid := signInTo(b, br, "alice@acme.example", sp)

	urls := make([]string, b.N)
	for i := range urls {
		urls[i] = sp.redirectURL(sp.authnRequest(crewsaml.HTTPRedirectBinding), "")
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := br.get(urls[i])
		if p.status != 200 || !strings.Contains(p.body, `name="SAMLResponse"`) {
			b.Fatalf("iteration %d: %d %s", i, p.status, p.url)
		}
	}
	b.StopTimer()
	elapsed := b.Elapsed()

	signRate := signingRate(b, e, sid, b.N)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "assertions/s")
	b.ReportMetric(signRate, "xml_signs/s")
	b.ReportMetric(rate/signRate, "ratio_to_xml_sign")
}

// signingRate is how many (Assertion, Response) signature pairs per second
// the active key makes over prepared elements: the step no assertion can
// avoid.
func signingRate(b *testing.B, e *env, sid string, n int) float64 {
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
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := s.signature(aEl); err != nil {
			b.Fatal(err)
		}
		if _, err := s.signature(resp); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}
