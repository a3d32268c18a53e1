package saml

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"gatehouse/provider/login"
)

// serveIDPInitiated signs the user in to one service provider without a
// request from it (SAML Profiles 4.1.5): the launch links on /account. The
// Response goes to the SP's default assertion consumer service, with no
// InResponseTo. An optional RelayState is passed on, as many SPs read it
// as the page to open.
func (p *IdP) serveIDPInitiated(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("sp")
	if id == "" {
		page(w, http.StatusBadRequest, "Which service?", "The link names no service: it needs the parameter sp, the service's SAML entity ID.")
		return
	}
	relay := q.Get("RelayState")
	if len(relay) > maxRelayState {
		p.failPage(w, r, &badRequest{http.StatusBadRequest, fmt.Sprintf("The RelayState is longer than %d bytes.", maxRelayState), nil})
		return
	}
	sp, err := p.serviceProvider(r.Context(), id)
	if errors.Is(err, errUnknownSP) {
		p.log.Info("saml: IdP-initiated sign-in to an unknown service provider", "sp", id)
		page(w, http.StatusNotFound, "Unknown service", "There is no service registered with Gatehouse under this name, so Gatehouse cannot sign you in to it.")
		return
	}
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	acs, err := sp.defaultACS()
	if err != nil {
		p.failPage(w, r, fmt.Errorf("%w (sp %s)", err, sp.rec.EntityID))
		return
	}
	b, err := json.Marshal(parked{ACS: acs, RelayState: relay})
	if err != nil {
		p.failPage(w, r, err)
		return
	}
	p.cfg.Login.Begin(w, r, &login.Flow{
		Protocol:     login.ProtocolSAML,
		RP:           sp.rec.EntityID,
		RPName:       spName(sp),
		ReturnTo:     p.base + resumePath,
		Request:      b,
		AllowedRoles: sp.rec.AllowedRoles,
	})
}
