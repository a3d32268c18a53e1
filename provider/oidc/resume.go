package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/ory/fosite"

	"gatehouse/provider/login"
	"gatehouse/provider/policy"
	"gatehouse/storage"
	"gatehouse/templates"
)

// serveResume is where a sign-in flow the authorize endpoint began comes
// back: it answers the parked authorization request.
func (p *Provider) serveResume(w http.ResponseWriter, r *http.Request) {
	f, err := p.cfg.Login.Finish(w, r)
	if err != nil {
		p.cfg.Login.ShowError(w, r, err)
		return
	}
	var parked parkedRequest
	if f.Protocol != login.ProtocolOIDC || json.Unmarshal(f.Request, &parked) != nil || parked.Form == nil {
		templates.RenderMessage(w, http.StatusBadRequest, templates.Message{
			Title: "This sign-in cannot be continued",
			Text:  "The sign-in did not start at an application using OpenID Connect. Go back to the application and try again.",
		})
		return
	}
	ctx := withTxn(r.Context())
	ar, err := p.oauth.NewAuthorizeRequest(ctx, parkedHTTPRequest(r.WithContext(ctx), parked.Form))
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	if f.Error != "" {
		p.authorizeError(w, r, ar, flowError(f))
		return
	}
	c := ar.GetClient().(*client)
	u, err := p.cfg.Store.GetUser(ctx, f.UserID)
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && !u.Active:
		p.authorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The account is not active."))
		return
	case err != nil:
		p.authorizeError(w, r, ar, unavailable(err))
		return
	case !policy.RoleAllowed(c.c.AllowedRoles, u.Role):
		p.authorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("Your role may not use this application."))
		return
	}

	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	sess := userSession(u, ar.GetGrantedScopes(), f, time.Unix(parked.RequestedAt, 0))
	resp, err := p.oauth.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	if err := p.store.flush(ctx); err != nil {
		p.authorizeError(w, r, ar, unavailable(err))
		return
	}
	if f.SessionID != "" {
		part := login.Participant{Protocol: login.ProtocolOIDC, RP: c.c.ID}
		if err := p.cfg.Login.Join(ctx, f.SessionID, part); err != nil {
			// The code is issued; the cost of failing here is only that a
			// later logout will not reach this client's back channel.
			p.log.Warn("oidc: recording the client in the sign-in session", "client", c.c.ID, "err", err)
		}
	}
	p.oauth.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// parkedHTTPRequest is a GET of the authorization endpoint with the parked
// form, for fosite to validate again.
func parkedHTTPRequest(r *http.Request, form url.Values) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	r2.URL = &url.URL{Path: pathAuthorize, RawQuery: form.Encode()}
	r2.Body = http.NoBody
	r2.ContentLength = 0
	r2.Header.Del("Content-Type")
	r2.Form, r2.PostForm, r2.MultipartForm = nil, nil, nil
	return r2
}

// flowError maps a refused sign-in to the OpenID Connect error.
func flowError(f *login.Flow) error {
	var e *fosite.RFC6749Error
	switch f.Error {
	case login.ErrLoginRequired:
		e = fosite.ErrLoginRequired
	case login.ErrConsentRequired:
		e = fosite.ErrConsentRequired
	case login.ErrInteractionRequired:
		e = fosite.ErrInteractionRequired
	default:
		e = fosite.ErrAccessDenied
	}
	if f.ErrorText != "" {
		return e.WithHint(f.ErrorText)
	}
	return e
}

// unavailable reports a backend failure as OAuth's temporarily_unavailable.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, storage.ErrUnavailable) {
		return fosite.ErrTemporarilyUnavailable.WithWrap(err).WithDebug(err.Error())
	}
	return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
}
