package saml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	crewsaml "github.com/crewjam/saml"

	"gatehouse/provider/login"
	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// participantData is what a session remembers of a SAML participant, so
// that ending the session can send it a LogoutRequest naming the same
// subject and session (SAML Core 3.7.1).
type participantData struct {
	NameID       string    `json:"name_id"`
	NameIDFormat string    `json:"name_id_format"`
	SessionIndex string    `json:"session_index"`
	SLO          *endpoint `json:"slo,omitempty"` // as the metadata said at sign-in
}

// serveResume is where a parked flow ends. A refused flow is answered with
// a SAML status; a finished one with a signed assertion, after the
// service's allowed_roles is checked once more (the flow checked it too,
// but a change to the SP since must not let an assertion through).
func (p *IdP) serveResume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := p.cfg.Login.Finish(w, r)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	var pk parked
	if f.Protocol != login.ProtocolSAML {
		p.failPage(w, r, login.ErrFlowNotFound)
		return
	}
	if err := json.Unmarshal(f.Request, &pk); err != nil || pk.ACS == "" {
		p.failPage(w, r, fmt.Errorf("saml: parked request of flow %s: %v", f.ID, err))
		return
	}
	sp, err := p.serviceProvider(ctx, f.RP)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	if !sp.hasACS(pk.ACS) {
		p.failPage(w, r, fmt.Errorf("%w: %s is no longer registered for %s", errUnregisteredACS, pk.ACS, sp.rec.EntityID))
		return
	}
	if f.Error != "" {
		p.refuse(w, r, sp, pk.ACS, pk.RequestID, pk.RelayState, flowStatus(f))
		return
	}
	g, err := p.grantFor(ctx, sp, f, pk)
	if err != nil {
		var st *status
		if errors.As(err, &st) {
			p.refuse(w, r, sp, pk.ACS, pk.RequestID, pk.RelayState, st)
			return
		}
		p.failPage(w, r, err)
		return
	}
	s, err := p.activeSigner()
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	b, err := p.successResponse(s, g)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	p.join(ctx, sp, f.SessionID, g)
	renderPost(w, pk.ACS, paramResponse, b, pk.RelayState, "Signing you in to "+spName(sp), "Taking you to "+spName(sp)+".")
}

// flowStatus maps a refused flow (its OpenID Connect error code) to a SAML
// status.
func flowStatus(f *login.Flow) *status {
	msg := f.ErrorText
	switch f.Error {
	case login.ErrAccessDenied:
		if msg == "" {
			msg = "The user may not use this service."
		}
		return denied(msg)
	case login.ErrLoginRequired, login.ErrInteractionRequired, login.ErrConsentRequired:
		if msg == "" {
			msg = "Signing in needs the user's interaction, and the request is passive."
		}
		return &status{code: crewsaml.StatusResponder, sub: crewsaml.StatusNoPassive, message: msg}
	}
	if msg == "" {
		msg = "The sign-in did not complete (" + f.Error + ")."
	}
	return &status{code: crewsaml.StatusResponder, sub: crewsaml.StatusAuthnFailed, message: msg}
}

// grantFor builds what the assertion will state. A refusal is a *status.
func (p *IdP) grantFor(ctx context.Context, sp *serviceProvider, f *login.Flow, pk parked) (grant, error) {
	if f.UserID == "" || f.SessionID == "" {
		return grant{}, fmt.Errorf("saml: flow %s finished without a user or session", f.ID)
	}
	u, err := p.cfg.Directory.GetUser(ctx, f.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return grant{}, denied("The user no longer exists.")
	}
	if err != nil {
		return grant{}, err
	}
	if !u.Active || u.Locked(p.now()) {
		return grant{}, denied("The user's account is not active.")
	}
	if !policy.RoleAllowed(sp.rec.AllowedRoles, u.Role) {
		return grant{}, denied("The user's role may not use this service.")
	}
	class, ok := pk.AuthnContext.satisfy(f.AMR)
	if !ok {
		return grant{}, &status{code: crewsaml.StatusResponder, sub: crewsaml.StatusNoAuthnContext,
			message: "The sign-in does not meet the requested authentication context."}
	}
	instant := f.AuthTime
	if instant.IsZero() {
		instant = p.now()
	}
	return grant{
		spEntityID:   sp.rec.EntityID,
		acs:          pk.ACS,
		inResponseTo: pk.RequestID,
		user:         u,
		sessionIndex: f.SessionID,
		authnInstant: instant,
		classRef:     class,
	}, nil
}

// join records the SP in the session, with what a LogoutRequest to it
// will need. A failure is logged, not shown: the user is signed in, only
// single logout will miss this SP.
func (p *IdP) join(ctx context.Context, sp *serviceProvider, sessionID string, g grant) {
	d := participantData{NameID: g.user.Email, NameIDFormat: nameIDEmail, SessionIndex: g.sessionIndex}
	if e, ok := sp.sloEndpoint(backChannelBindings...); ok {
		d.SLO = &e
	}
	b, err := json.Marshal(d)
	if err == nil {
		err = p.cfg.Login.Join(ctx, sessionID, login.Participant{Protocol: login.ProtocolSAML, RP: sp.rec.EntityID, Data: b})
	}
	if err != nil {
		p.log.Warn("saml: recording the service provider in the session; single logout will miss it",
			"sp", sp.rec.EntityID, "session", sessionID, "err", err)
	}
}
