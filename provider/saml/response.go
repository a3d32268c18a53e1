package saml

import (
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"

	"gatehouse/storage"
)

// statusSuccess is SAML Core 3.2.2.2's Success (crewjam keeps it in a
// variable its tests change, so Gatehouse keeps its own).
const statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"

// status is a SAML status for a refusal: a top-level code (Requester,
// Responder, VersionMismatch), an optional second-level code, and a
// message for the service provider's logs.
type status struct {
	code    string
	sub     string
	message string
}

func (s *status) Error() string {
	if s.sub != "" {
		return s.sub + ": " + s.message
	}
	return s.code + ": " + s.message
}

func (s *status) element() crewsaml.Status {
	st := crewsaml.Status{StatusCode: crewsaml.StatusCode{Value: s.code}}
	if s.sub != "" {
		st.StatusCode.StatusCode = &crewsaml.StatusCode{Value: s.sub}
	}
	if s.message != "" {
		st.StatusMessage = &crewsaml.StatusMessage{Value: s.message}
	}
	return st
}

// Refusals used in several places.
func denied(msg string) *status {
	return &status{code: crewsaml.StatusResponder, sub: crewsaml.StatusRequestDenied, message: msg}
}

func badRequester(msg string) *status {
	return &status{code: crewsaml.StatusRequester, sub: crewsaml.StatusRequestDenied, message: msg}
}

// grant is everything an assertion states.
type grant struct {
	spEntityID   string
	acs          string
	inResponseTo string // empty for an unsolicited (IdP-initiated) Response
	user         storage.User
	sessionIndex string
	authnInstant time.Time
	classRef     string
}

// attributes are the user's attributes, by Name (INTERFACE.md section 7).
func attributes(u storage.User) []crewsaml.Attribute {
	attr := func(name string, values ...string) crewsaml.Attribute {
		a := crewsaml.Attribute{Name: name, NameFormat: attrNameBasic}
		for _, v := range values {
			a.Values = append(a.Values, crewsaml.AttributeValue{Type: "xs:string", Value: v})
		}
		return a
	}
	var roles []string
	if u.Role != "" {
		roles = append(roles, u.Role)
	}
	return []crewsaml.Attribute{
		attr("email", u.Email),
		attr("name", u.Name),
		attr("roles", roles...),
		attr("partner_id", u.PartnerID),
		attr("user_kind", string(u.Kind)),
	}
}

// assertion builds the unsigned assertion of g, issued at now.
func (p *IdP) assertion(id string, g grant, now time.Time) *crewsaml.Assertion {
	notOnOrAfter := now.Add(p.cfg.AssertionTTL)
	return &crewsaml.Assertion{
		ID:           id,
		IssueInstant: now,
		Version:      samlVersion,
		Issuer:       crewsaml.Issuer{Format: nameIDEntity, Value: p.entityID},
		Subject: &crewsaml.Subject{
			NameID: &crewsaml.NameID{
				Format:          nameIDEmail,
				NameQualifier:   p.entityID,
				SPNameQualifier: g.spEntityID,
				Value:           g.user.Email,
			},
			SubjectConfirmations: []crewsaml.SubjectConfirmation{{
				Method: bearer,
				SubjectConfirmationData: &crewsaml.SubjectConfirmationData{
					InResponseTo: g.inResponseTo,
					NotOnOrAfter: notOnOrAfter,
					Recipient:    g.acs,
				},
			}},
		},
		Conditions: &crewsaml.Conditions{
			// A service provider whose clock runs a little behind must
			// not see the assertion as not yet valid.
			NotBefore:            now.Add(-clockSkew),
			NotOnOrAfter:         notOnOrAfter,
			AudienceRestrictions: []crewsaml.AudienceRestriction{{Audience: crewsaml.Audience{Value: g.spEntityID}}},
		},
		AuthnStatements: []crewsaml.AuthnStatement{{
			AuthnInstant: g.authnInstant.UTC(),
			SessionIndex: g.sessionIndex,
			AuthnContext: crewsaml.AuthnContext{AuthnContextClassRef: &crewsaml.AuthnContextClassRef{Value: g.classRef}},
		}},
		AttributeStatements: []crewsaml.AttributeStatement{{Attributes: attributes(g.user)}},
	}
}

// successResponse builds the signed Response carrying a signed Assertion
// for g. Both are signed: some service providers check only the one, some
// only the other, and passport-saml refuses an unsigned Response.
func (p *IdP) successResponse(s *signer, g grant) ([]byte, error) {
	now := p.nowUTC()
	assertionID, err := p.newID()
	if err != nil {
		return nil, err
	}
	responseID, err := p.newID()
	if err != nil {
		return nil, err
	}
	a := p.assertion(assertionID, g, now)
	sig, err := s.signature(a.Element())
	if err != nil {
		return nil, err
	}
	a.Signature = sig
	return p.signedResponse(s, &crewsaml.Response{
		ID:           responseID,
		InResponseTo: g.inResponseTo,
		Version:      samlVersion,
		IssueInstant: now,
		Destination:  g.acs,
		Issuer:       &crewsaml.Issuer{Format: nameIDEntity, Value: p.entityID},
		Status:       crewsaml.Status{StatusCode: crewsaml.StatusCode{Value: statusSuccess}},
	}, a.Element())
}

// statusResponse builds a signed Response that refuses a request with st.
func (p *IdP) statusResponse(s *signer, acs, inResponseTo string, st *status) ([]byte, error) {
	id, err := p.newID()
	if err != nil {
		return nil, err
	}
	return p.signedResponse(s, &crewsaml.Response{
		ID:           id,
		InResponseTo: inResponseTo,
		Version:      samlVersion,
		IssueInstant: p.nowUTC(),
		Destination:  acs,
		Issuer:       &crewsaml.Issuer{Format: nameIDEntity, Value: p.entityID},
		Status:       st.element(),
	}, nil)
}

// signedResponse signs r with the (already signed) assertion inside it and
// serialises it.
func (p *IdP) signedResponse(s *signer, r *crewsaml.Response, assertion *etree.Element) ([]byte, error) {
	el := r.Element()
	if assertion != nil {
		el.AddChild(assertion)
	}
	sig, err := s.signature(el)
	if err != nil {
		return nil, err
	}
	r.Signature = sig
	el = r.Element()
	if assertion != nil {
		el.AddChild(assertion)
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	return doc.WriteToBytes()
}
