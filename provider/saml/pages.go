package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"gatehouse/provider/login"
	"gatehouse/templates"
)

// postForm is the data of saml_post.html: the HTTP-POST binding's form
// (SAML Bindings 3.5.4), sent by /static/saml-post.js, or by the user
// pressing Continue where scripts do not run.
type postForm struct {
	Title      string
	Text       string
	URL        string
	Param      string
	Value      string
	RelayState string
	// Bounce marks a LogoutRequest Gatehouse posts back to itself: see
	// serveSLO.
	Bounce bool
}

// renderPost answers with a page that posts xml as param to url.
func renderPost(w http.ResponseWriter, url, param string, xml []byte, relayState, title, text string) {
	renderPostForm(w, postForm{Title: title, Text: text, URL: url, Param: param, RelayState: relayState}, xml)
}

// renderPostForm renders f with xml, base64-encoded, as its value.
func renderPostForm(w http.ResponseWriter, f postForm, xml []byte) {
	f.Value = base64.StdEncoding.EncodeToString(xml)
	templates.Render(w, http.StatusOK, "saml_post", f)
}

// redirectURL encodes xml for the HTTP-Redirect binding (SAML Bindings
// 3.4.4.1: DEFLATE, base64, URL-encode), signed in the query.
func redirectURL(s *signer, location, param string, xml []byte, relayState string) (string, error) {
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(xml); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	q, err = s.signQuery(q)
	if err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(location, "?") {
		sep = "&"
	}
	return location + sep + q, nil
}

// page shows a short message page.
func page(w http.ResponseWriter, status int, title, text string) {
	templates.RenderMessage(w, status, templates.Message{Title: title, Text: text})
}

// failPage answers a request that cannot be answered in SAML: the SP is
// unknown, its endpoint is not registered, the message cannot be read, or
// Gatehouse itself is in trouble. The page says what happened in words the
// user can pass on; the detail goes to the log.
func (p *IdP) failPage(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	var st *status
	switch {
	case errors.As(err, &br):
		p.log.Info("saml: unreadable request", "path", r.URL.Path, "err", err)
		page(w, br.status, "This sign-in request cannot be used", br.text+" Go back to the service and try again; if it keeps happening, tell its administrator.")
	case errors.As(err, &st):
		// A refusal for a message whose sender cannot be answered in SAML.
		p.log.Info("saml: refused", "path", r.URL.Path, "err", err)
		page(w, http.StatusBadRequest, "This request was refused", st.message)
	case errors.Is(err, errUnknownSP):
		p.log.Info("saml: unknown service provider", "path", r.URL.Path, "err", err)
		page(w, http.StatusBadRequest, "Unknown service", "The service that sent you here is not registered with Gatehouse, so Gatehouse cannot sign you in to it. Tell the service's administrator.")
	case errors.Is(err, errUnregisteredACS):
		p.log.Info("saml: unregistered assertion consumer service", "path", r.URL.Path, "err", err)
		page(w, http.StatusBadRequest, "Unknown return address", "The service asked Gatehouse to send you back to an address that is not registered for it, so Gatehouse will not. Tell the service's administrator.")
	case errors.Is(err, errNoPostACS):
		p.log.Info("saml: no usable assertion consumer service", "path", r.URL.Path, "err", err)
		page(w, http.StatusBadRequest, "Unsupported service settings", "The service accepts no sign-in response that Gatehouse can send (the HTTP-POST binding). Tell the service's administrator.")
	case errors.Is(err, errBadMetadata):
		p.log.Warn("saml: service provider metadata", "path", r.URL.Path, "err", err)
		page(w, http.StatusBadGateway, "Service settings unavailable", "Gatehouse cannot read this service's SAML settings right now. Try again later; if it keeps happening, tell the service's administrator.")
	case errors.Is(err, login.ErrFlowNotFound), errors.Is(err, login.ErrFlowNotBound), errors.Is(err, login.ErrFlowNotDone):
		p.log.Info("saml: sign-in flow", "path", r.URL.Path, "err", err)
		page(w, http.StatusBadRequest, "Sign-in expired", "This sign-in has expired, was already used, or was started in another browser. Go back to the service and sign in again.")
	case unavailable(err):
		p.log.Warn("saml: backend unavailable", "path", r.URL.Path, "err", err)
		page(w, http.StatusServiceUnavailable, "Try again in a moment", "Gatehouse is briefly unable to complete this request. Try again in a moment.")
	default:
		p.log.Error("saml: internal error", "path", r.URL.Path, "err", err)
		page(w, http.StatusInternalServerError, "Something went wrong", "Gatehouse could not complete this request. Try again; if it keeps happening, tell your administrator.")
	}
}

// refuse answers a request from a known service provider, at a registered
// assertion consumer service, with a signed Response carrying st.
func (p *IdP) refuse(w http.ResponseWriter, r *http.Request, sp *serviceProvider, acs, inResponseTo, relayState string, st *status) {
	p.log.Info("saml: refusing request", "sp", sp.rec.EntityID, "request", inResponseTo, "status", st.code, "sub", st.sub, "reason", st.message)
	s, err := p.activeSigner()
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	b, err := p.statusResponse(s, acs, inResponseTo, st)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	renderPost(w, acs, paramResponse, b, relayState, "Returning to "+spName(sp), "Gatehouse could not sign you in to "+spName(sp)+". Taking you back to it.")
}

func spName(sp *serviceProvider) string {
	if sp.rec.Name != "" {
		return sp.rec.Name
	}
	return sp.rec.EntityID
}
