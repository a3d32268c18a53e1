package federation

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"gatehouse/storage"
)

// maxACSBody bounds a posted SAML Response.
const maxACSBody = 1 << 20

// maxReplayTTL caps how long an assertion ID is remembered, whatever its
// NotOnOrAfter says.
const maxReplayTTL = 24 * time.Hour

// serveACS is POST /federation/{id}/acs, the assertion consumer service of
// a SAML connection (HTTP-POST binding, SAML Bindings 3.5). The IdP's page
// posts here cross-site, so the browser's SameSite=Lax cookies do not come
// along: the Response is verified here, and the browser is sent on to
// /continue with the outcome, where the flow's cookie is read.
func (f *Federation) serveACS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxACSBody)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("SAMLResponse") == "" {
		f.show(w, r, problem{
			Status: http.StatusBadRequest,
			Title:  "Sign-in answer not readable",
			Text:   "Gatehouse received no readable SAML answer (the SAMLResponse field is missing or too large).",
			Todo:   "Go back to the application and sign in again.",
		}, "")
		return
	}
	if r.PostForm.Get("RelayState") == "" {
		f.show(w, r, problem{
			Status: http.StatusBadRequest,
			Title:  "Sign in at Gatehouse first",
			Text:   "Gatehouse accepts an answer from your organization's sign-in service only for a sign-in that started at Gatehouse.",
			Todo:   "Open the application you want to use and sign in there.",
		}, "")
		return
	}
	pend, conn, ok := f.returning(w, r, r.PostForm.Get("RelayState"), TypeSAML)
	if !ok {
		return
	}
	v := verified{Pending: pend}
	id, err := f.verifySAML(r, conn, pend)
	if err != nil {
		f.auditFailure(r, conn, pend, err)
		v.Failure = failureOf(err)
	} else {
		v.Identity = id
	}
	b, err := json.Marshal(v)
	if err == nil {
		tok := newState()
		if err = f.eph.Set(r.Context(), resultKey(tok), b, resultTTL); err == nil {
			http.Redirect(w, r, f.base+"/federation/"+url.PathEscape(conn.ID)+"/continue?result="+tok, http.StatusSeeOther)
			return
		}
	}
	f.fail(w, r, err, "")
}

// serveContinue is GET /federation/{id}/continue: a verified SAML identity
// (or the failure) meets the flow it was for, in the browser that began it.
func (f *Federation) serveContinue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok := r.URL.Query().Get("result")
	if !validToken(tok) {
		f.show(w, r, problemExpired, "")
		return
	}
	b, err := f.eph.Take(ctx, resultKey(tok))
	if errors.Is(err, storage.ErrNotFound) {
		f.show(w, r, problemExpired, "")
		return
	}
	if err != nil {
		f.fail(w, r, err, "")
		return
	}
	var v verified
	if err := json.Unmarshal(b, &v); err != nil {
		f.fail(w, r, err, "")
		return
	}
	conn, err := f.store.GetConnection(ctx, v.Pending.ConnectionID)
	if err == nil && conn.ID != r.PathValue("id") {
		err = storage.ErrNotFound
	}
	if errors.Is(err, storage.ErrNotFound) {
		f.show(w, r, problemExpired, "")
		return
	}
	if err != nil {
		f.fail(w, r, err, "")
		return
	}
	flow, ok := f.flowOf(w, r, v.Pending)
	if !ok {
		return
	}
	if v.Failure != nil {
		f.showFailure(w, r, conn, v.Pending, v.Failure.err(), flow.ID)
		return
	}
	f.complete(w, r, conn, v.Pending, flow, v.Identity)
}

// failure is an upstreamErr as it waits in the ephemeral store.
type failure struct {
	Kind    failKind `json:"kind"`
	Reason  string   `json:"reason,omitempty"`
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
}

func failureOf(err error) *failure {
	var ue upstreamErr
	if !errors.As(err, &ue) {
		return &failure{Kind: failError, Code: "internal", Message: err.Error()}
	}
	return &failure{Kind: ue.kind, Reason: ue.reason, Code: ue.code, Message: err.Error()}
}

func (x *failure) err() error {
	return upstreamErr{kind: x.Kind, reason: x.Reason, code: x.Code, err: errors.New(x.Message)}
}

// verifySAML checks the posted Response with crewjam's ParseResponse and
// adds what crewjam leaves out: exactly one assertion in the document, a
// subject confirmed for this ACS, and an assertion ID never seen before.
func (f *Federation) verifySAML(r *http.Request, c storage.Connection, pend pending) (id identity, err error) {
	ctx := r.Context()
	raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	if err != nil {
		return identity{}, upstreamErr{kind: failInvalid, reason: "malformed", err: errors.New("SAMLResponse is not base64")}
	}
	shape, err := inspectResponse(raw)
	if err != nil {
		return identity{}, err
	}
	idp, err := f.idpMetadata(ctx, c)
	if err != nil {
		if errors.Is(err, errMisconfigured) {
			return identity{}, upstreamErr{kind: failMisconfigured, err: err}
		}
		return identity{}, upstreamErr{kind: failUnreachable, err: err}
	}
	sp, err := f.serviceProvider(c, idp)
	if err != nil {
		return identity{}, err
	}
	// crewjam dereferences parts of a signed assertion without checking
	// them; a panic there is a malformed answer, not a crash.
	defer func() {
		if p := recover(); p != nil {
			id, err = identity{}, upstreamErr{kind: failInvalid, reason: "malformed", err: fmt.Errorf("assertion could not be read: %v", p)}
		}
	}()
	a, err := sp.ParseResponse(r, []string{pend.RequestID})
	if err != nil {
		return identity{}, classifySAML(err, shape)
	}
	if a.Subject == nil || len(a.Subject.SubjectConfirmations) == 0 {
		return identity{}, upstreamErr{kind: failInvalid, reason: "wrong_recipient", err: errors.New("assertion has no SubjectConfirmation")}
	}
	if a.ID == "" {
		return identity{}, upstreamErr{kind: failInvalid, reason: "malformed", err: errors.New("assertion has no ID")}
	}
	fresh, err := f.eph.SetNX(ctx, assertionKey(c.ID, a.ID), []byte(pend.FlowID), f.replayTTL(a))
	if err != nil {
		return identity{}, err
	}
	if !fresh {
		return identity{}, upstreamErr{kind: failInvalid, reason: "replay", err: fmt.Errorf("assertion %s was already used", truncate(a.ID, 80))}
	}
	return samlIdentity(a), nil
}

// replayTTL is how long an assertion ID must be remembered: until the
// assertion can no longer be accepted anywhere (its latest NotOnOrAfter,
// plus the clock skew crewjam allows).
func (f *Federation) replayTTL(a *saml.Assertion) time.Duration {
	var end time.Time
	if a.Conditions != nil {
		end = a.Conditions.NotOnOrAfter
	}
	if a.Subject != nil {
		for _, sc := range a.Subject.SubjectConfirmations {
			if d := sc.SubjectConfirmationData; d != nil && d.NotOnOrAfter.After(end) {
				end = d.NotOnOrAfter
			}
		}
	}
	ttl := end.Add(saml.MaxClockSkew).Sub(f.now())
	switch {
	case end.IsZero(), ttl > maxReplayTTL:
		return maxReplayTTL
	case ttl < time.Minute:
		return time.Minute
	}
	return ttl
}

// shape is what inspectResponse learnt of a Response before crewjam reads
// it.
type shape struct {
	subStatus string // the second-level StatusCode, if any
}

// inspectResponse refuses a document that carries anything but exactly one
// assertion, anywhere: XML signature wrapping hides a forged assertion
// beside or around a signed one, and an honest Response never has two. It
// also insists that a plain assertion has a Subject and Conditions, which
// crewjam reads without checking.
func inspectResponse(raw []byte) (shape, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return shape{}, upstreamErr{kind: failInvalid, reason: "malformed", err: errors.New("SAMLResponse is not XML")}
	}
	root := doc.Root()
	if root.Tag != "Response" {
		return shape{}, upstreamErr{kind: failInvalid, reason: "malformed", err: fmt.Errorf("SAMLResponse is a %s, not a Response", truncate(root.Tag, 40))}
	}
	var s shape
	if st := child(root, "Status"); st != nil {
		if top := child(st, "StatusCode"); top != nil {
			if sub := child(top, "StatusCode"); sub != nil {
				s.subStatus = sub.SelectAttrValue("Value", "")
			}
			if top.SelectAttrValue("Value", "") != saml.StatusSuccess {
				// A failure carries no assertion to count.
				return s, nil
			}
		}
	}
	var found []*etree.Element
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if c.Tag == "Assertion" || c.Tag == "EncryptedAssertion" {
				found = append(found, c)
			}
			walk(c)
		}
	}
	walk(root)
	if len(found) != 1 {
		return s, upstreamErr{kind: failInvalid, reason: "wrapped", err: fmt.Errorf("response carries %d assertions; exactly one is accepted", len(found))}
	}
	a := found[0]
	if a.Tag == "Assertion" && (child(a, "Subject") == nil || child(a, "Conditions") == nil) {
		return s, upstreamErr{kind: failInvalid, reason: "malformed", err: errors.New("assertion lacks Subject or Conditions")}
	}
	return s, nil
}

// child returns el's first child element with the local name tag.
func child(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// classifySAML sorts crewjam's refusals. crewjam hides its reason behind
// InvalidResponseError.PrivateErr, in words only: they are matched here.
func classifySAML(err error, s shape) error {
	var ire *saml.InvalidResponseError
	inner := err
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		inner = ire.PrivateErr
	}
	var bad saml.ErrBadStatus
	if errors.As(inner, &bad) {
		code := statusName(s.subStatus)
		if code == "" {
			code = statusName(bad.Status)
		}
		switch s.subStatus {
		case saml.StatusAuthnFailed, saml.StatusRequestDenied, saml.StatusNoPassive:
			return upstreamErr{kind: failDenied, code: code, err: inner}
		}
		return upstreamErr{kind: failError, code: code, err: inner}
	}
	msg := inner.Error()
	reason := "malformed"
	switch {
	case strings.Contains(msg, "signature"), strings.Contains(msg, "Signature"), strings.Contains(msg, "digest"), strings.Contains(msg, "Digest"):
		reason = "bad_signature"
	case strings.Contains(msg, "Audience"):
		reason = "wrong_audience"
	case strings.Contains(msg, "Issuer"), strings.Contains(msg, "issuer"):
		reason = "wrong_issuer"
	case strings.Contains(msg, "InResponseTo"), strings.Contains(msg, "request IDs"):
		reason = "wrong_request"
	case strings.Contains(msg, "Recipient"), strings.Contains(msg, "Destination"):
		reason = "wrong_recipient"
	case strings.Contains(msg, "expired"), strings.Contains(msg, "not yet valid"):
		return upstreamErr{kind: failExpired, err: inner}
	}
	return upstreamErr{kind: failInvalid, reason: reason, err: inner}
}

// statusName is the last segment of a SAML status URN.
func statusName(urn string) string {
	if i := strings.LastIndexByte(urn, ':'); i >= 0 {
		return urn[i+1:]
	}
	return urn
}

// emailAttributes name the email address in the attribute statements of
// the common identity providers (Entra ID, Okta, Google, ADFS, Shibboleth).
var emailAttributes = map[string]bool{
	"email":                             true,
	"mail":                              true,
	"emailaddress":                      true,
	"urn:oid:0.9.2342.19200300.100.1.3": true,
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": true,
	"http://schemas.xmlsoap.org/claims/emailaddress":                     true,
}

// samlIdentity reads the subject and email of a verified assertion. The
// NameID is the subject unless it is transient; the email is an email
// attribute, or the NameID when its format is emailAddress.
func samlIdentity(a *saml.Assertion) identity {
	var id identity
	var format, nameID string
	if a.Subject != nil && a.Subject.NameID != nil {
		format, nameID = a.Subject.NameID.Format, strings.TrimSpace(a.Subject.NameID.Value)
	}
	if format != string(saml.TransientNameIDFormat) {
		id.Subject = nameID
	}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if !emailAttributes[strings.ToLower(at.Name)] && !emailAttributes[strings.ToLower(at.FriendlyName)] {
				continue
			}
			for _, v := range at.Values {
				if e := strings.TrimSpace(v.Value); e != "" && id.Email == "" {
					id.Email = e
				}
			}
		}
	}
	if id.Email == "" && format == string(saml.EmailAddressNameIDFormat) {
		id.Email = nameID
	}
	return id
}
