package saml

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"

	"gatehouse/provider/login"
)

// SessionEnded implements login.SessionEndHandler: every SAML participant
// of the ended session, but the one whose LogoutRequest ended it, is sent
// a signed LogoutRequest over the back channel. It returns at once; the
// requests run in the background, each bounded by a short timeout (Wait
// waits for them).
func (p *IdP) SessionEnded(ctx context.Context, s login.Session, parts []login.Participant) {
	skip, _ := ctx.Value(initiatorKey{}).(string)
	var targets []login.Participant
	for _, pt := range parts {
		if pt.Protocol == login.ProtocolSAML && pt.RP != skip {
			targets = append(targets, pt)
		}
	}
	if len(targets) == 0 {
		return
	}
	// The request that ended the session may be over before these are.
	ctx = context.WithoutCancel(ctx)
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		var wg sync.WaitGroup
		for _, pt := range targets {
			wg.Go(func() { p.sendLogout(ctx, s, pt) })
		}
		wg.Wait()
	}()
}

// Wait blocks until the background work started so far is done: the
// back-channel LogoutRequests (answered or timed out) and metadata
// refreshes. For a graceful shutdown, and for tests.
func (p *IdP) Wait() { p.bg.Wait() }

// sendLogout tells one service provider that the session ended. Its
// endpoint comes from its current metadata, or from what the session
// recorded if the metadata cannot be read now. The outcome is only logged:
// nothing can be done for an SP that does not answer.
func (p *IdP) sendLogout(ctx context.Context, s login.Session, pt login.Participant) {
	log := p.log.With("sp", pt.RP, "session", s.ID)
	var d participantData
	if err := json.Unmarshal(pt.Data, &d); err != nil || d.NameID == "" {
		log.Warn("saml: unreadable session participant; not sent a LogoutRequest", "err", err)
		return
	}
	ep := d.SLO
	sp, err := p.serviceProvider(ctx, pt.RP)
	switch {
	case errors.Is(err, errUnknownSP):
		log.Info("saml: service provider no longer registered; not sent a LogoutRequest")
		return
	case err != nil:
		log.Warn("saml: service provider metadata unavailable; using the endpoint recorded at sign-in", "err", err)
	default:
		if e, ok := sp.sloEndpoint(backChannelBindings...); ok {
			ep = &e
		} else {
			ep = nil
		}
	}
	if ep == nil {
		log.Info("saml: service provider has no back-channel SingleLogoutService; its session runs out by itself")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sloTimeout)
	defer cancel()
	req, err := p.logoutRequest(ctx, pt.RP, d, *ep)
	if err != nil {
		log.Error("saml: building a LogoutRequest", "err", err)
		return
	}
	resp, err := p.noFollow.Do(req)
	if err != nil {
		log.Warn("saml: sending a LogoutRequest", "binding", ep.Binding, "url", ep.Location, "err", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxMessageBytes))
	if resp.StatusCode >= 400 {
		log.Warn("saml: LogoutRequest refused", "binding", ep.Binding, "url", ep.Location, "status", resp.StatusCode)
		return
	}
	if ep.Binding == crewsaml.SOAPBinding {
		if code := soapLogoutStatus(body); code != statusSuccess {
			log.Warn("saml: LogoutRequest answered without success", "url", ep.Location, "saml_status", code)
			return
		}
	}
	log.Info("saml: LogoutRequest delivered", "binding", ep.Binding, "url", ep.Location)
}

// logoutRequest builds the HTTP request that carries a signed
// LogoutRequest (SAML Core 3.7.1) to ep: a SOAP envelope (SAML Bindings
// 3.2), a form as the HTTP-POST binding would post it, or an HTTP-Redirect
// URL signed in the query.
func (p *IdP) logoutRequest(ctx context.Context, spEntityID string, d participantData, ep endpoint) (*http.Request, error) {
	s, err := p.activeSigner()
	if err != nil {
		return nil, err
	}
	id, err := p.newID()
	if err != nil {
		return nil, err
	}
	now := p.nowUTC()
	expires := now.Add(requestMaxAge)
	lr := &crewsaml.LogoutRequest{
		ID:           id,
		Version:      samlVersion,
		IssueInstant: now,
		NotOnOrAfter: &expires,
		Destination:  ep.Location,
		Issuer:       &crewsaml.Issuer{Format: nameIDEntity, Value: p.entityID},
		NameID: &crewsaml.NameID{
			Format:          d.NameIDFormat,
			NameQualifier:   p.entityID,
			SPNameQualifier: spEntityID,
			Value:           d.NameID,
		},
		SessionIndex: &crewsaml.SessionIndex{Value: d.SessionIndex},
	}
	if ep.Binding == crewsaml.HTTPRedirectBinding {
		b, err := serialize(lr.Element())
		if err != nil {
			return nil, err
		}
		u, err := redirectURL(s, ep.Location, paramRequest, b, "")
		if err != nil {
			return nil, err
		}
		return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	}
	sig, err := s.signature(lr.Element())
	if err != nil {
		return nil, err
	}
	lr.Signature = sig
	if ep.Binding == crewsaml.HTTPPostBinding {
		b, err := serialize(lr.Element())
		if err != nil {
			return nil, err
		}
		form := url.Values{paramRequest: {base64.StdEncoding.EncodeToString(b)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.Location, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
	env := etree.NewElement("soap11:Envelope")
	env.CreateAttr("xmlns:soap11", soapEnvelopeNS)
	env.CreateElement("soap11:Body").AddChild(lr.Element())
	b, err := serialize(env)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.Location, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "http://www.oasis-open.org/committees/security")
	return req, nil
}

// soapLogoutStatus reads the top-level status code of a LogoutResponse in
// a SOAP envelope, or says why it cannot.
func soapLogoutStatus(body []byte) string {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		return fmt.Sprintf("unreadable answer: %v", err)
	}
	code := doc.FindElement("//LogoutResponse/Status/StatusCode")
	if code == nil {
		return "no LogoutResponse in the answer"
	}
	return code.SelectAttrValue("Value", "")
}
