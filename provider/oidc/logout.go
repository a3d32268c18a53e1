package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"gatehouse/storage"
	"gatehouse/templates"
)

// serveLogout is RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0), GET or POST. It ends the browser's sign-in session everywhere
// (login.Service.EndSession tells this package, which sends back-channel
// logout tokens, and the SAML identity provider) at once, without a page
// asking to confirm: a logout is harmless to force, and relying parties
// expect the round trip to be silent.
//
// The browser is sent to post_logout_redirect_uri only when the request is
// tied to a client, by a valid id_token_hint or by client_id, and the URI is
// one that client registered, exactly. Otherwise it is signed out and told
// so at Gatehouse.
func (p *Provider) serveLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.logoutPage(w, http.StatusBadRequest, "The logout request could not be read.")
		return
	}
	q := r.Form
	var hint *idTokenClaims
	if raw := q.Get("id_token_hint"); raw != "" {
		c, err := p.parseIDTokenHint(raw)
		if err != nil {
			p.logoutPage(w, http.StatusBadRequest, "The logout request's id_token_hint is not an ID token issued by Gatehouse.")
			return
		}
		hint = c
	}
	clientID := q.Get("client_id")
	if hint != nil {
		if clientID != "" && clientID != hint.clientID() {
			p.logoutPage(w, http.StatusBadRequest, "The logout request's client_id does not match its id_token_hint.")
			return
		}
		clientID = hint.clientID()
	}

	redirect := q.Get("post_logout_redirect_uri")
	var target *url.URL
	if redirect != "" && clientID != "" {
		c, err := p.cfg.Clients.Client(ctx, clientID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			p.logoutPage(w, http.StatusBadRequest, "The logout request names an application Gatehouse does not know (client_id).")
			return
		case err != nil:
			p.logoutPage(w, http.StatusServiceUnavailable, "Gatehouse cannot sign you out right now. Try again in a moment.")
			return
		case !slices.Contains(c.PostLogoutRedirectURIs, redirect):
			p.logoutPage(w, http.StatusBadRequest, "The application asked to return to an address it did not register (post_logout_redirect_uri).")
			return
		}
		u, err := url.Parse(redirect)
		if err != nil {
			p.logoutPage(w, http.StatusBadRequest, "The post_logout_redirect_uri is not a valid URL.")
			return
		}
		target = u
	}

	// End the browser's session; failing that, the session the hint names
	// (the relying party knows it ended, even if this browser has no
	// cookie for it).
	sid := ""
	if cur, ok := p.cfg.Login.Current(r); ok {
		sid = cur.ID
	} else if hint != nil {
		sid = hint.SID
	}
	if sid != "" {
		if err := p.cfg.Login.EndSession(ctx, sid); err != nil {
			p.log.Error("oidc: ending the sign-in session at logout", "err", err)
			p.logoutPage(w, http.StatusServiceUnavailable, "Gatehouse cannot sign you out right now. Try again in a moment.")
			return
		}
	}
	p.cfg.Login.ClearCookie(w)

	if target == nil {
		templates.RenderMessage(w, http.StatusOK, templates.Message{
			Title: "You are signed out",
			Text:  "You are signed out of Gatehouse and of the applications you opened with it. You can close this window.",
		})
		return
	}
	if st := q.Get("state"); st != "" {
		v := target.Query()
		v.Set("state", st)
		target.RawQuery = v.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target.String(), http.StatusSeeOther)
}

func (p *Provider) logoutPage(w http.ResponseWriter, status int, text string) {
	templates.RenderMessage(w, status, templates.Message{Title: "Logout request not accepted", Text: text})
}
