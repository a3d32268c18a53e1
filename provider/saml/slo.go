package saml

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

// initiatorKey carries, in the context of EndSession, the entity ID of the
// service provider whose LogoutRequest ended the session: it is answered
// with a LogoutResponse and is not sent a LogoutRequest of its own.
type initiatorKey struct{}

// serveSLO is the single logout service (SAML Profiles 4.4.3) for a
// LogoutRequest from a service provider, in either binding. It ends the
// session the request names (its SessionIndex, else the browser's) and
// answers the SP with a signed LogoutResponse. Every other participant of
// the session is told by SessionEnded.
func (p *IdP) serveSLO(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if err := parseForm(r); err != nil {
			p.failPage(w, r, err)
			return
		}
	}
	if hasParam(r, paramResponse) {
		// Gatehouse sends no LogoutRequest through the browser, so a
		// LogoutResponse here answers nothing; the user is signed out.
		page(w, http.StatusOK, "Signed out", "You are signed out.")
		return
	}
	ctx := r.Context()
	msg, err := readMessage(r, paramRequest)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	lr, root, err := parseLogoutRequest(msg.xml)
	if err != nil {
		p.failPage(w, r, &badRequest{http.StatusBadRequest, "The SAMLRequest is not a valid LogoutRequest.", err})
		return
	}
	if len(msg.relayState) > maxRelayState {
		p.failPage(w, r, &badRequest{http.StatusBadRequest, fmt.Sprintf("The RelayState is longer than %d bytes.", maxRelayState), nil})
		return
	}
	sp, err := p.serviceProvider(ctx, lr.Issuer.Value)
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	signed, err := p.checkLogoutRequest(msg, lr, root, sp)
	if err == nil && p.needsBounce(r, msg, lr) {
		p.bounce(w, msg)
		return
	}
	if err == nil {
		err = p.checkReplay(ctx, "logout", sp, lr.ID)
	}
	if err == nil {
		err = p.endNamedSession(w, r, sp, lr, signed)
	}
	var st *status
	switch {
	case err == nil:
		st = &status{code: statusSuccess}
	case errors.As(err, &st):
		p.log.Info("saml: refusing LogoutRequest", "sp", sp.rec.EntityID, "request", lr.ID, "reason", st.message)
	default:
		p.failPage(w, r, err)
		return
	}
	p.logoutResponse(w, r, sp, msg.binding, lr.ID, msg.relayState, st)
}

func hasParam(r *http.Request, name string) bool {
	if r.Method == http.MethodPost {
		return r.PostFormValue(name) != ""
	}
	return r.URL.Query().Get(name) != ""
}

// checkLogoutRequest checks a LogoutRequest from a known SP and reports
// whether it was signed. An SP whose metadata has a signing key must sign:
// otherwise any page could sign its users out.
func (p *IdP) checkLogoutRequest(msg *message, lr *crewsaml.LogoutRequest, root *etree.Element, sp *serviceProvider) (bool, error) {
	now := p.now()
	if lr.Version != samlVersion {
		return false, &status{code: crewsaml.StatusVersionMismatch, message: fmt.Sprintf("Version %q is not 2.0", lr.Version)}
	}
	signed, err := verifyMessage(msg, root, sp.signing, len(sp.signing) > 0, now)
	if err != nil {
		return false, badRequester(err.Error())
	}
	if (signed || lr.Destination != "") && lr.Destination != p.sloURL {
		return false, badRequester(fmt.Sprintf("Destination %q is not %s", lr.Destination, p.sloURL))
	}
	if err := checkInstant(lr.IssueInstant, now); err != nil {
		return false, badRequester(err.Error())
	}
	if lr.NotOnOrAfter != nil && !now.Before(*lr.NotOnOrAfter) {
		return false, badRequester("the LogoutRequest has expired (NotOnOrAfter)")
	}
	return signed, nil
}

// checkReplay refuses a request ID seen before from the same SP.
func (p *IdP) checkReplay(ctx context.Context, kind string, sp *serviceProvider, id string) error {
	fresh, err := p.cfg.Ephemeral.SetNX(ctx, replayKey(kind, sp.rec.EntityID, id), []byte("1"), replayTTL)
	if err != nil {
		return err
	}
	if !fresh {
		return badRequester(fmt.Sprintf("request %s was already used", id))
	}
	return nil
}

// needsBounce reports whether a POSTed LogoutRequest names no session and
// arrived without the session cookie. A browser does not send a
// SameSite=Lax cookie with a POST from another site, so the request is
// posted once more from Gatehouse's own page, which it does send.
func (p *IdP) needsBounce(r *http.Request, msg *message, lr *crewsaml.LogoutRequest) bool {
	if msg.binding != crewsaml.HTTPPostBinding || r.PostFormValue("gh_bounce") != "" {
		return false
	}
	if lr.SessionIndex != nil && strings.TrimSpace(lr.SessionIndex.Value) != "" {
		return false
	}
	_, ok := p.cfg.Login.Current(r)
	return !ok
}

func (p *IdP) bounce(w http.ResponseWriter, msg *message) {
	renderPostForm(w, postForm{
		Title: "Signing you out", Text: "Signing you out of Gatehouse.",
		URL: p.sloURL, Param: paramRequest, RelayState: msg.relayState, Bounce: true,
	}, msg.xml)
}

// endNamedSession ends the session a LogoutRequest names: its
// SessionIndex, or the browser's session. The session's user must be the
// request's NameID; an unsigned request must also come from an SP that
// took part in the session. No session at all is success: the user is
// already signed out.
func (p *IdP) endNamedSession(w http.ResponseWriter, r *http.Request, sp *serviceProvider, lr *crewsaml.LogoutRequest, signed bool) error {
	ctx := r.Context()
	cur, hasCur := p.cfg.Login.Current(r)
	sid := ""
	if lr.SessionIndex != nil {
		sid = strings.TrimSpace(lr.SessionIndex.Value)
	}
	if sid == "" && hasCur {
		sid = cur.ID
	}
	if sid == "" {
		p.cfg.Login.ClearCookie(w)
		return nil
	}
	sess, err := p.cfg.Login.GetSession(ctx, sid)
	if errors.Is(err, storage.ErrNotFound) {
		if !hasCur || cur.ID == sid {
			p.cfg.Login.ClearCookie(w)
		}
		return nil
	}
	if err != nil {
		return err
	}
	u, err := p.cfg.Directory.GetUser(ctx, sess.UserID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err == nil && !strings.EqualFold(u.Email, strings.TrimSpace(lr.NameID.Value)) {
		return &status{code: crewsaml.StatusRequester, sub: crewsaml.StatusUnknownPrincipal, message: "the NameID is not the session's user"}
	}
	if !signed {
		parts, err := p.cfg.Login.Participants(ctx, sid)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(parts, func(pt login.Participant) bool {
			return pt.Protocol == login.ProtocolSAML && pt.RP == sp.rec.EntityID
		}) {
			return &status{code: crewsaml.StatusRequester, sub: crewsaml.StatusUnknownPrincipal, message: "the service provider took no part in the session"}
		}
	}
	if err := p.cfg.Login.EndSession(context.WithValue(ctx, initiatorKey{}, sp.rec.EntityID), sid); err != nil {
		return err
	}
	if !hasCur || cur.ID == sid {
		p.cfg.Login.ClearCookie(w)
	}
	p.log.Info("saml: session ended by the service provider", "sp", sp.rec.EntityID, "session", sid)
	return nil
}

// logoutResponse answers a LogoutRequest at the SP's SingleLogoutService:
// in the binding the request came in where the SP has an endpoint for it,
// else HTTP-POST, else HTTP-Redirect. An SP with no such endpoint gets no
// answer, and the user a page.
func (p *IdP) logoutResponse(w http.ResponseWriter, r *http.Request, sp *serviceProvider, binding, inResponseTo, relayState string, st *status) {
	ep, ok := sp.sloEndpoint(binding, crewsaml.HTTPPostBinding, crewsaml.HTTPRedirectBinding)
	if !ok {
		if st.code == statusSuccess {
			page(w, http.StatusOK, "Signed out", "You are signed out of Gatehouse.")
		} else {
			page(w, http.StatusBadRequest, "Sign-out refused", "Gatehouse refused the sign-out request: "+st.message+".")
		}
		return
	}
	loc := ep.Location
	if ep.Response != "" {
		loc = ep.Response
	}
	s, err := p.activeSigner()
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	id, err := p.newID()
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	resp := &crewsaml.LogoutResponse{
		ID:           id,
		InResponseTo: inResponseTo,
		Version:      samlVersion,
		IssueInstant: p.nowUTC(),
		Destination:  loc,
		Issuer:       &crewsaml.Issuer{Format: nameIDEntity, Value: p.entityID},
		Status:       st.element(),
	}
	if ep.Binding == crewsaml.HTTPRedirectBinding {
		// The Redirect binding carries its signature in the query, and
		// no XML signature (SAML Bindings 3.4.4.1).
		b, err := serialize(resp.Element())
		if err == nil {
			var u string
			if u, err = redirectURL(s, loc, paramResponse, b, relayState); err == nil {
				http.Redirect(w, r, u, http.StatusFound)
				return
			}
		}
		p.failPage(w, r, err)
		return
	}
	sig, err := s.signature(resp.Element())
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	resp.Signature = sig
	b, err := serialize(resp.Element())
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	renderPost(w, loc, paramResponse, b, relayState, "Signed out", "You are signed out of Gatehouse. Taking you back to "+spName(sp)+".")
}

// serialize writes el as a document.
func serialize(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	return doc.WriteToBytes()
}
