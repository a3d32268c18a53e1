package saml

import (
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// Authentication context classes Gatehouse can state (SAML Authn Context
// 3.4), with the REFEDS and Microsoft names for multi-factor sign-in that
// service providers ask for in practice.
const (
	classUnspecified = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
	classPassword    = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
	classPPT         = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	classREFEDSMFA   = "https://refeds.org/profile/mfa"
	classMSMFA       = "http://schemas.microsoft.com/claims/multipleauthn"
)

// classRank orders the classes by strength for the minimum, better and
// maximum comparisons (SAML Core 3.3.2.2.1). Other classes are unknown:
// they match only exactly, which Gatehouse never can.
var classRank = map[string]int{
	classUnspecified: 0,
	classPassword:    1,
	classPPT:         2,
	classREFEDSMFA:   3,
	classMSMFA:       3,
}

const rankMFA = 3

// requestedContext is an AuthnRequest's RequestedAuthnContext.
type requestedContext struct {
	Comparison string   `json:"comparison,omitempty"` // exact (default), minimum, better, maximum
	Classes    []string `json:"classes"`
}

// requestedAuthnContext reads the RequestedAuthnContext of an AuthnRequest.
// crewjam's AuthnRequest keeps only one AuthnContextClassRef; the schema
// allows several, so they are read from the element.
func requestedAuthnContext(root *etree.Element) *requestedContext {
	el := root.FindElement("./RequestedAuthnContext")
	if el == nil {
		return nil
	}
	rc := &requestedContext{Comparison: el.SelectAttrValue("Comparison", "exact")}
	for _, c := range el.SelectElements("AuthnContextClassRef") {
		if v := strings.TrimSpace(c.Text()); v != "" {
			rc.Classes = append(rc.Classes, v)
		}
	}
	if len(rc.Classes) == 0 {
		return nil
	}
	return rc
}

// achieved lists the classes a sign-in with these methods (RFC 8176 amr)
// meets, strongest first. A password meets PasswordProtectedTransport with
// or without a second factor (INTERFACE.md section 7); a sign-in through a
// partner's connection is stated as unspecified, since how the upstream
// provider authenticated the user is not Gatehouse's to vouch for.
func achieved(amr []string) []string {
	var out []string
	if slices.Contains(amr, "mfa") {
		out = append(out, classREFEDSMFA, classMSMFA)
	}
	if slices.Contains(amr, "pwd") {
		out = append(out, classPPT, classPassword)
	}
	return append(out, classUnspecified)
}

// defaultClass is what an assertion states when nothing was asked for.
func defaultClass(amr []string) string {
	if slices.Contains(amr, "pwd") {
		return classPPT
	}
	return classUnspecified
}

// needsMFA reports whether no class the request accepts can be met
// without a second factor, so the flow must ask for one.
func (rc *requestedContext) needsMFA() bool {
	if rc == nil {
		return false
	}
	switch rc.Comparison {
	case "minimum":
		return rc.minRank() >= rankMFA
	case "better":
		return rc.minRank() >= rankMFA-1
	case "maximum":
		return false
	}
	for _, c := range rc.Classes {
		if r, ok := classRank[c]; !ok || r < rankMFA {
			return false
		}
	}
	return true
}

// minRank and maxRank range over the known requested classes; -1 when
// none is known.
func (rc *requestedContext) minRank() int {
	m := -1
	for _, c := range rc.Classes {
		if r, ok := classRank[c]; ok && (m < 0 || r < m) {
			m = r
		}
	}
	return m
}

func (rc *requestedContext) maxRank() int {
	m := -1
	for _, c := range rc.Classes {
		if r, ok := classRank[c]; ok && r > m {
			m = r
		}
	}
	return m
}

// satisfy returns the class to state for a sign-in with amr, or false when
// the request's context cannot be met (the SP then gets NoAuthnContext).
func (rc *requestedContext) satisfy(amr []string) (string, bool) {
	def := defaultClass(amr)
	if rc == nil {
		return def, true
	}
	got := achieved(amr)
	pick := func(ok func(rank int) bool) (string, bool) {
		if ok(classRank[def]) {
			return def, true
		}
		for _, c := range got {
			if ok(classRank[c]) {
				return c, true
			}
		}
		return "", false
	}
	switch rc.Comparison {
	case "minimum":
		lo := rc.minRank()
		return pick(func(r int) bool { return lo >= 0 && r >= lo })
	case "better":
		lo := rc.minRank()
		return pick(func(r int) bool { return lo >= 0 && r > lo })
	case "maximum":
		hi := rc.maxRank()
		for _, c := range got { // strongest first: as strong as allowed
			if classRank[c] <= hi {
				return c, true
			}
		}
		return "", false
	}
	for _, c := range rc.Classes {
		if slices.Contains(got, c) {
			return c, true
		}
	}
	return "", false
}
