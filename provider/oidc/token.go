package oidc

import (
	"context"
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// serveToken is the token endpoint (RFC 6749 section 3.2):
// authorization_code, refresh_token and client_credentials.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx := withTxn(r.Context())
	if err := parseForm(r); err != nil {
		p.oauth.WriteAccessError(ctx, w, fosite.NewAccessRequest(newSession()), err)
		return
	}
	ar, err := p.oauth.NewAccessRequest(ctx, r, newSession())
	if err != nil {
		p.accessError(ctx, w, ar, err)
		return
	}
	switch {
	case ar.GetGrantTypes().ExactOne("client_credentials"):
		// A client acting for itself: it gets the scopes it asked for and
		// is registered for (fosite checked), but none about a user.
		for _, s := range ar.GetRequestedScopes() {
			if s != "openid" && s != "offline_access" {
				ar.GrantScope(s)
			}
		}
	case ar.GetGrantTypes().ExactOne("refresh_token"):
		if err := p.refreshUser(ctx, ar); err != nil {
			p.accessError(ctx, w, ar, err)
			return
		}
	}
	resp, err := p.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		p.accessError(ctx, w, ar, spentRefresh(ar, err))
		return
	}
	p.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

// refreshUser brings a refreshed grant's claims up to date, and refuses it
// when the user is gone, deactivated, or no longer has a role the client
// allows. Refresh is the one token request that reads SQL anyway.
func (p *Provider) refreshUser(ctx context.Context, ar fosite.AccessRequester) error {
	sess, ok := ar.GetSession().(*session)
	if !ok || sess.Subject == "" {
		return nil
	}
	u, err := p.cfg.Store.GetUser(ctx, sess.Subject)
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && !u.Active:
		return fosite.ErrInvalidGrant.WithHint("The user of this grant no longer has an active account.")
	case err != nil:
		return unavailable(err)
	}
	if c, ok := ar.GetClient().(*client); ok && !policy.RoleAllowed(c.c.AllowedRoles, u.Role) {
		return fosite.ErrInvalidGrant.WithHint("The user's role may no longer use this application.")
	}
	sess.setUser(u, ar.GetGrantedScopes())
	if sess.Claims != nil {
		sess.Claims.Extra = sess.idTokenExtra()
	}
	return nil
}

// spentRefresh answers a refresh token that another request spent (or
// revoked) between fosite's read of it and its rotation, which is what a
// loser of concurrent refreshes meets, with invalid_grant (RFC 6749 section
// 5.2), as a spent token presented later is answered. fosite would say
// invalid_request and invite a retry, which with the same token can only
// fail again.
func spentRefresh(ar fosite.AccessRequester, err error) error {
	if ar.GetGrantTypes().ExactOne("refresh_token") &&
		(errors.Is(err, fosite.ErrInactiveToken) || errors.Is(err, fosite.ErrNotFound)) {
		return fosite.ErrInvalidGrant.WithWrap(err).WithHint("The refresh token was already used.")
	}
	return err
}

// parseForm reads the request's form strictly. The standard library's
// multipart reader drops a malformed urlencoded body's error, so fosite
// would carry on with whatever parameters survived.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fosite.ErrInvalidRequest.WithHintf("The request's parameters could not be read: %s", err.Error())
	}
	return nil
}

func (p *Provider) accessError(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	if rfc := fosite.ErrorToRFC6749Error(err); rfc.CodeField >= 500 {
		p.log.Error("oidc: token request failed", "err", err, "debug", rfc.Debug())
	}
	p.oauth.WriteAccessError(ctx, w, ar, err)
}
