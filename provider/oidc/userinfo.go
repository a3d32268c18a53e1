package oidc

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// serveUserInfo is the UserInfo endpoint (OpenID Connect Core 5.3), GET
// and POST, with the access token as a bearer token (RFC 6750): in the
// Authorization header, or for POST in the form. It answers the claims of
// the scopes granted, as they were when the user authorized (or last
// refreshed), from the token's record: one signature check and one
// ephemeral-store round trip, no SQL.
func (p *Provider) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	raw, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		web.WriteJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "invalid_request", "error_description": "An access token is required (Authorization: Bearer).",
		})
		return
	}
	_, req, err := p.checkAccessToken(r.Context(), raw)
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			writeOAuthError(w, fosite.ErrTemporarilyUnavailable)
			return
		}
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
		return
	}
	sess, _ := req.GetSession().(*session)
	if sess == nil || sess.Subject == "" || !req.GetGrantedScopes().Has("openid") {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "The access token was not granted the openid scope for a user.")
		return
	}
	out := make(map[string]any, len(sess.UserInfo)+1)
	for k, v := range sess.UserInfo {
		out[k] = v
	}
	out["sub"] = sess.Subject
	web.WriteJSON(w, http.StatusOK, out)
}

// bearerToken reads an RFC 6750 bearer token: the Authorization header, or
// the access_token field of a POSTed form.
func bearerToken(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			if tok := r.PostForm.Get("access_token"); tok != "" {
				return tok, true
			}
		}
	}
	return "", false
}

func bearerError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`", error_description="`+desc+`"`)
	web.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
