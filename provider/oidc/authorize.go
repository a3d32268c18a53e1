package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"gatehouse/provider/login"
	"gatehouse/templates"
)

// parkedRequest is what the authorize endpoint parks in the sign-in flow:
// the validated form (with whatever a pushed request carried) and when the
// request arrived. The resume endpoint has fosite validate it again.
type parkedRequest struct {
	Form        url.Values `json:"form"`
	RequestedAt int64      `json:"requested_at"`
}

// serveAuthorize is the authorization endpoint (OpenID Connect Core 3.1.2).
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := parseForm(r); err != nil {
		p.authorizeError(w, r, nil, err)
		return
	}
	ar, err := p.oauth.NewAuthorizeRequest(ctx, r)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	checked, err := p.checkAuthorize(ar)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	c := ar.GetClient().(*client)
	form := ar.GetRequestForm()
	now := p.now()

	f := &login.Flow{
		Protocol:     login.ProtocolOIDC,
		RP:           c.c.ID,
		RPName:       c.displayName(),
		ReturnTo:     p.prefix + pathResume + "?",
		LoginHint:    form.Get("login_hint"),
		AllowedRoles: c.c.AllowedRoles,
		Passive:      checked.prompt["none"],
		ForceLogin:   checked.prompt["login"],
		RequireMFA:   slices.Contains(strings.Fields(form.Get("acr_values")), "mfa"),
	}
	// The session matters here only for these; otherwise Begin reads it.
	if checked.maxAge >= 0 || checked.hint != nil || f.Passive {
		if cur, ok := p.cfg.Login.Current(r); ok {
			if checked.maxAge >= 0 && now.Sub(cur.AuthTime) > time.Duration(checked.maxAge)*time.Second {
				f.ForceLogin = true
			}
			// A hint naming someone else: this session does not answer it.
			if checked.hint != nil && checked.hint.Sub != cur.UserID {
				f.ForceLogin = true
			}
		} else if f.Passive {
			p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("There is no sign-in session and prompt=none forbids showing the sign-in page."))
			return
		}
	}
	if f.Passive && f.ForceLogin {
		p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("The request needs a new sign-in, and prompt=none forbids showing the sign-in page."))
		return
	}
	if !c.c.FirstParty {
		f.Consent = &login.ConsentRequest{Scopes: slices.Clone(ar.GetRequestedScopes()), Force: checked.prompt["consent"]}
	}
	parked := parkedRequest{Form: cleanForm(form), RequestedAt: now.Unix()}
	// The parked form is complete: a pushed request's parameters were
	// merged into it, and request objects were unpacked.
	delete(parked.Form, "request_uri")
	delete(parked.Form, "request")
	if f.Request, err = json.Marshal(parked); err != nil {
		p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	p.cfg.Login.Begin(w, r, f)
}

// authorizeChecks is what checkAuthorize read from the request.
type authorizeChecks struct {
	prompt map[string]bool
	maxAge int64 // -1 when absent
	hint   *idTokenClaims
}

// checkAuthorize applies the rules fosite checks only when the response is
// built (after sign-in) or not at all, so that a bad request goes back to
// the client at once instead of after a sign-in page.
func (p *Provider) checkAuthorize(ar fosite.AuthorizeRequester) (authorizeChecks, error) {
	form := ar.GetRequestForm()
	out := authorizeChecks{prompt: map[string]bool{}, maxAge: -1}

	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case challenge == "" && ar.GetClient().IsPublic():
		return out, fosite.ErrInvalidRequest.WithHint("code_challenge is required: public clients must use PKCE with S256.")
	case challenge == "" && method != "":
		return out, fosite.ErrInvalidRequest.WithHint("code_challenge_method was sent without code_challenge.")
	case challenge != "" && method != "S256":
		return out, fosite.ErrInvalidRequest.WithHint("code_challenge_method must be S256; plain is not accepted.")
	case challenge != "" && !validChallenge(challenge):
		return out, fosite.ErrInvalidRequest.WithHint("code_challenge must be the base64url SHA-256 of the code verifier (43 characters).")
	}

	for _, v := range strings.Fields(form.Get("prompt")) {
		switch v {
		case "none", "login", "consent":
			out.prompt[v] = true
		default:
			return out, fosite.ErrInvalidRequest.WithHintf("prompt %q is not supported; use none, login or consent.", v)
		}
	}
	if out.prompt["none"] && len(out.prompt) > 1 {
		return out, fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other prompt values.")
	}

	if v := form.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return out, fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative number of seconds.")
		}
		out.maxAge = n
	}
	if n := form.Get("nonce"); n != "" && len(n) < fosite.MinParameterEntropy {
		return out, fosite.ErrInvalidRequest.WithHintf("nonce must be at least %d characters long.", fosite.MinParameterEntropy)
	}
	if h := form.Get("id_token_hint"); h != "" {
		c, err := p.parseIDTokenHint(h)
		if err != nil {
			return out, fosite.ErrInvalidRequest.WithHint("id_token_hint is not an ID token issued by this provider.")
		}
		out.hint = c
	}
	return out, nil
}

// validChallenge: a base64url SHA-256 is 43 characters.
func validChallenge(s string) bool {
	return len(s) == 43 && opaqueSignature(s) != ""
}

// authorizeError answers a failed authorization request. The error goes
// back to the client in the protocol's own form, except when there is no
// registered redirect URI to send it to (an unknown client, a missing or
// unregistered redirect_uri): then Gatehouse shows it, and never redirects.
func (p *Provider) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		p.log.Error("oidc: authorization request failed", "err", err, "debug", rfc.Debug())
	}
	if ar == nil || !ar.IsRedirectURIValid() {
		status := http.StatusBadRequest
		if errors.Is(err, fosite.ErrServerError) || errors.Is(err, fosite.ErrTemporarilyUnavailable) {
			status = http.StatusServiceUnavailable
		}
		templates.RenderMessage(w, status, templates.Message{
			Title: "This sign-in request cannot be used",
			Text:  "The application that sent you here made a request Gatehouse cannot accept, so you cannot be sent back to it. " + describe(rfc),
		})
		return
	}
	// Only the query response mode is offered; an error about another
	// one (form_post, fragment) goes back the same way.
	if a, ok := ar.(*fosite.AuthorizeRequest); ok && a.ResponseMode != fosite.ResponseModeQuery {
		a.ResponseMode = fosite.ResponseModeQuery
	}
	p.oauth.WriteAuthorizeError(r.Context(), w, ar, err)
}

// describe is an error's description for people: fosite's description and
// hint, without its debug detail.
func describe(e *fosite.RFC6749Error) string {
	d := e.GetDescription()
	if d == "" {
		d = e.ErrorField
	}
	return d
}
