package oidc

import "net/http"

// serveRevoke is the revocation endpoint (RFC 7009). A client revokes only
// its own tokens; asking to revoke another client's token, or an unknown
// one, is answered 200 and changes nothing. Revoking either kind of token
// revokes its whole grant: the refresh tokens and the access tokens of the
// same family.
func (p *Provider) serveRevoke(w http.ResponseWriter, r *http.Request) {
	// The txn keeps the claims of the access token being revoked, which a
	// client's own token is looked up by (client_token.go).
	ctx := withTxn(r.Context())
	if err := parseForm(r); err != nil {
		p.oauth.WriteRevocationResponse(ctx, w, err)
		return
	}
	p.oauth.WriteRevocationResponse(ctx, w, p.oauth.NewRevocationRequest(ctx, r))
}
