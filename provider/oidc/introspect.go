package oidc

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// serveIntrospect is the introspection endpoint (RFC 7662). Any
// confidential client may ask about access and refresh tokens, with any of
// its authentication methods (fosite's own handler knows only Basic).
func (p *Provider) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := withTxn(r.Context())
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, fosite.ErrInvalidRequest.WithHint("The body must be a form (application/x-www-form-urlencoded)."))
		return
	}
	c, err := p.fosite.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		writeOAuthError(w, fosite.ErrorToRFC6749Error(err))
		return
	}
	if c.IsPublic() {
		writeOAuthError(w, fosite.ErrInvalidClient.WithHint("Public clients may not introspect tokens."))
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeOAuthError(w, fosite.ErrInvalidRequest.WithHint("The token parameter is required."))
		return
	}
	use := fosite.AccessToken
	if r.PostForm.Get("token_type_hint") == "refresh_token" {
		use = fosite.RefreshToken
	}
	got, ar, err := p.oauth.IntrospectToken(ctx, token, use, newSession())
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			writeOAuthError(w, fosite.ErrTemporarilyUnavailable)
			return
		}
		web.WriteJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	out := map[string]any{
		"active":    true,
		"iss":       p.issuer,
		"client_id": ar.GetClient().GetID(),
		"iat":       ar.GetRequestedAt().Unix(),
	}
	if s := ar.GetGrantedScopes(); len(s) > 0 {
		out["scope"] = strings.Join(s, " ")
	}
	sess, _ := ar.GetSession().(*session)
	if sess != nil && sess.Subject != "" {
		out["sub"] = sess.Subject
	} else {
		out["sub"] = ar.GetClient().GetID()
	}
	switch got {
	case fosite.AccessToken:
		out["token_type"] = "Bearer"
		if tx, _ := txnFrom(ctx); tx != nil && tx.access != nil {
			c := tx.access
			out["exp"], out["iat"], out["aud"], out["jti"] = c.Exp, c.Iat, []string(c.Aud), c.Jti
		}
	case fosite.RefreshToken:
		out["token_type"] = "refresh_token"
		if sess != nil {
			if exp := sess.GetExpiresAt(fosite.RefreshToken); !exp.IsZero() {
				out["exp"] = exp.Unix()
			}
		}
	}
	if sess != nil && sess.SID != "" {
		out["sid"] = sess.SID
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// writeOAuthError writes an OAuth error as JSON (RFC 6749 section 5.2).
func writeOAuthError(w http.ResponseWriter, e *fosite.RFC6749Error) {
	status := e.CodeField
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	web.WriteJSON(w, status, map[string]string{"error": e.ErrorField, "error_description": describe(e)})
}
