package saml

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"

	"gatehouse/provider/login"
)

// parked is the AuthnRequest as the flow carries it to /saml/resume: only
// what answering it needs, all of it already checked.
type parked struct {
	RequestID    string            `json:"id,omitempty"` // empty: IdP-initiated
	ACS          string            `json:"acs"`
	RelayState   string            `json:"relay_state,omitempty"`
	AuthnContext *requestedContext `json:"authn_context,omitempty"`
}

// serveSSO is the single sign-on service (SAML Profiles 4.1.3.1) for both
// bindings. What cannot be tied to a registered SP and assertion consumer
// service is answered with a page; every later refusal goes back to the SP
// as a signed SAML status. An accepted request is parked as a sign-in flow.
func (p *IdP) serveSSO(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	msg, err := readMessage(r, paramRequest)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	req, root, err := parseAuthnRequest(msg.xml)
	if err != nil {
		p.failPage(w, r, &badRequest{http.StatusBadRequest, "The SAMLRequest is not a valid AuthnRequest.", err})
		return
	}
	if len(msg.relayState) > maxRelayState {
		p.failPage(w, r, &badRequest{http.StatusBadRequest, fmt.Sprintf("The RelayState is longer than %d bytes.", maxRelayState), nil})
		return
	}
	sp, err := p.serviceProvider(ctx, req.Issuer.Value)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	acs, err := sp.acs(req.AssertionConsumerServiceIndex, req.AssertionConsumerServiceURL)
	if err != nil {
		p.failPage(w, r, fmt.Errorf("%w (sp %s, index %q, url %q)", err, sp.rec.EntityID, req.AssertionConsumerServiceIndex, req.AssertionConsumerServiceURL))
		return
	}
	if err := p.checkAuthnRequest(ctx, msg, req, root, sp); err != nil {
		var st *status
		if errors.As(err, &st) {
			p.refuse(w, r, sp, acs, req.ID, msg.relayState, st)
			return
		}
		p.failPage(w, r, err)
		return
	}
	rc := requestedAuthnContext(root)
	b, err := json.Marshal(parked{RequestID: req.ID, ACS: acs, RelayState: msg.relayState, AuthnContext: rc})
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	p.cfg.Login.Begin(w, r, &login.Flow{
		Protocol:     login.ProtocolSAML,
		RP:           sp.rec.EntityID,
		RPName:       spName(sp),
		ReturnTo:     p.base + resumePath,
		Request:      b,
		LoginHint:    loginHint(req),
		ForceLogin:   req.ForceAuthn != nil && *req.ForceAuthn,
		Passive:      req.IsPassive != nil && *req.IsPassive,
		RequireMFA:   rc.needsMFA(),
		AllowedRoles: sp.rec.AllowedRoles,
	})
}

// checkAuthnRequest checks a request from a known SP. A refusal is a
// *status for the SP; any other error is Gatehouse's own (a backend down).
func (p *IdP) checkAuthnRequest(ctx context.Context, msg *message, req *crewsaml.AuthnRequest, root *etree.Element, sp *serviceProvider) error {
	now := p.now()
	if req.Version != samlVersion {
		return &status{code: crewsaml.StatusVersionMismatch, message: fmt.Sprintf("Version %q is not 2.0", req.Version)}
	}
	signed, err := verifyMessage(msg, root, sp.signing, sp.wantsSigned, now)
	if err != nil {
		return badRequester(err.Error())
	}
	// A signed request must name where it was sent, so that it cannot be
	// replayed to another identity provider (SAML Bindings 3.4.5.2, 3.5.5.2).
	if (signed || req.Destination != "") && req.Destination != p.ssoURL {
		return badRequester(fmt.Sprintf("Destination %q is not %s", req.Destination, p.ssoURL))
	}
	if err := checkInstant(req.IssueInstant, now); err != nil {
		return badRequester(err.Error())
	}
	if req.ProtocolBinding != "" && req.ProtocolBinding != crewsaml.HTTPPostBinding {
		return &status{code: crewsaml.StatusRequester, sub: crewsaml.StatusUnsupportedBinding,
			message: fmt.Sprintf("ProtocolBinding %q is not supported; Gatehouse answers with HTTP-POST", req.ProtocolBinding)}
	}
	fresh, err := p.cfg.Ephemeral.SetNX(ctx, replayKey("authn", sp.rec.EntityID, req.ID), []byte("1"), replayTTL)
	if err != nil {
		return err
	}
	if !fresh {
		return badRequester(fmt.Sprintf("request %s was already used", req.ID))
	}
	return nil
}

// checkInstant refuses an IssueInstant that is missing, older than
// requestMaxAge or further ahead than clockSkew.
func checkInstant(t, now time.Time) error {
	switch {
	case t.IsZero():
		return fmt.Errorf("IssueInstant is missing")
	case now.Sub(t) > requestMaxAge:
		return fmt.Errorf("IssueInstant %s is older than %s", t.UTC().Format(time.RFC3339), requestMaxAge)
	case t.Sub(now) > clockSkew:
		return fmt.Errorf("IssueInstant %s is in the future", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// replayKey names a request ID in the replay cache; hashed, since both
// parts come from outside.
func replayKey(kind, entityID, id string) string {
	sum := sha256.Sum256([]byte(entityID + "\x00" + id))
	return "saml:seen:" + kind + ":" + hex.EncodeToString(sum[:16])
}

// loginHint is the Subject's NameID when it is an email address: the SP
// already knows who is signing in.
func loginHint(req *crewsaml.AuthnRequest) string {
	if req.Subject == nil || req.Subject.NameID == nil {
		return ""
	}
	v := strings.TrimSpace(req.Subject.NameID.Value)
	if len(v) > 254 || !strings.Contains(v, "@") {
		return ""
	}
	return v
}
