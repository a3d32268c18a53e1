// Package saml is Gatehouse's SAML 2.0 identity provider: a protocol adapter
// over the one sign-in flow and SSO session of package login, built on the
// message types of github.com/crewjam/saml.
//
// It owns these endpoints (INTERFACE.md section 4):
//
//   - GET /saml/metadata: the IdP's metadata, with the active RSA signing
//     certificate and, during a rotation, the previous ones.
//   - GET|POST /saml/sso: AuthnRequests in the HTTP-Redirect and HTTP-POST
//     bindings (SAML Bindings 3.4 and 3.5). The request is checked, parked as
//     a login.Flow and answered at /saml/resume once the flow ends.
//   - GET /saml/resume: where the flow hands the browser back; it answers
//     the service provider with a signed Response, through the HTTP-POST
//     binding only, as the Web Browser SSO profile asks (Profiles 4.1.2).
//   - GET /saml/idp-initiated?sp=ENTITY_ID: an unsolicited Response to one
//     service provider, for the launch links on /account.
//   - GET|POST /saml/slo: single logout started by a service provider.
//
// Gatehouse builds and signs its messages itself rather than through
// crewjam's IdentityProvider, whose assertion maker and response writer
// read the package globals TimeNow and RandReader, sign with RSA-SHA1 by
// default, answer every failure with a bare http.Error and cannot verify
// signed AuthnRequests. Here the clock and the source of randomness are
// injected (Config.Now, Config.Rand), both the Response and the Assertion
// inside it are signed with RSA-SHA256 and exclusive canonicalisation, a
// known service provider is answered with a SAML status, and anything else
// gets a page.
//
// Single logout leaves the browser out when Gatehouse is the one telling
// service providers: a session can end where no browser is at hand (an
// admin deletes a user, a password is changed, an OIDC client logs out), so
// SessionEnded sends each SAML participant a signed LogoutRequest over the
// back channel, to the SP's SOAP SingleLogoutService where it has one, and
// otherwise as a server-side HTTP-POST (or HTTP-Redirect) binding request.
// Service providers that can only end a session through the user's browser
// (front channel) are not reached; their own session runs out by itself.
package saml
