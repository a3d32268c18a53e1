package oidc

import (
	"net/http"

	"github.com/ory/fosite"
)

// servePAR is the pushed authorization request endpoint (RFC 9126): a
// client authenticates and posts its authorization request, and gets a
// request_uri to send the browser with instead.
func (p *Provider) servePAR(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := parseForm(r); err != nil {
		p.oauth.WritePushedAuthorizeError(ctx, w, fosite.NewAuthorizeRequest(), err)
		return
	}
	ar, err := p.oauth.NewPushedAuthorizeRequest(ctx, r)
	if err != nil {
		p.oauth.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	// The same rules as at the authorization endpoint, so that a pushed
	// request that would fail there fails here, where the client sees why.
	if _, err := p.checkAuthorize(ar); err != nil {
		p.oauth.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	resp, err := p.oauth.NewPushedAuthorizeResponse(ctx, ar, newSession())
	if err != nil {
		p.oauth.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	p.oauth.WritePushedAuthorizeResponse(ctx, w, ar, resp)
}
