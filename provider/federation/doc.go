// Package federation signs users in through their partner's own identity
// provider (per-user SSO, INTERFACE.md sections 3, 5 and 7): the partner's
// connection, OpenID Connect or SAML 2.0.
//
// It owns:
//
//   - the "federation" step of the sign-in flow (Federation.Step), which
//     runs right after the password step has identified a user whose sso is
//     on (the password step does not check their password: it sets only
//     Flow.UserID and leaves Flow.AMR empty). It redirects the browser to
//     the partner's connection: the first of the partner's connections by
//     id when there are several;
//   - GET /federation/{id}/callback: the OIDC redirect URI. The state is
//     taken once from the ephemeral store; the code is exchanged with the
//     PKCE verifier; the ID token is verified (signature, issuer, audience,
//     expiry) and its nonce compared with the one bound to the flow;
//   - GET /federation/{id}/metadata: the SAML service provider's metadata;
//   - POST /federation/{id}/acs: the SAML assertion consumer service. The
//     Response is verified by crewjam/saml's ServiceProvider.ParseResponse
//     (signature, issuer, destination, recipient, InResponseTo, time), and
//     here besides: exactly one assertion (wrapping attacks), an audience
//     restriction naming this service provider, and the assertion ID seen
//     once (replay). The browser is then sent to
//     GET /federation/{id}/continue, because the IdP's cross-site POST
//     carries no SameSite=Lax cookie and the flow is bound to the browser
//     by one;
//   - Federation.Test, the "test connection" action, which fetches the
//     discovery document or the IdP metadata and says in plain words what
//     is wrong.
//
// # Matching the upstream identity
//
// A stored User.UpstreamSubject ("CONNECTION_ID|SUBJECT") from the same
// connection must equal the upstream subject. Otherwise the upstream email
// claim (OIDC) or attribute (SAML) must equal the user's email,
// case-insensitively, and an OIDC provider that sends email_verified must
// not send false; the subject is then stored (a SAML transient NameID is
// not stored: it changes with every sign-in). A mismatch leaves the user
// unchanged, is audited as federation.mismatch, and shows a page that says
// which account is which.
//
// A match sets Flow.AMR to ["fed"] and hands the flow back to the sign-in
// service (Flows.Resume); the second-factor step skips flows whose AMR has
// "fed".
//
// # Upstream requests
//
// The upstream provider is asked to authenticate afresh (OIDC prompt=login,
// SAML ForceAuthn) when the relying party asked Gatehouse for a fresh
// sign-in, and on every retry after the first trip, so that someone refused
// for the wrong account can pick another. Discovery documents and IdP
// metadata are cached per connection for Config.CacheTTL, and dropped when
// the connection changes. Connection URLs come from partners' admins, so
// the default HTTP client refuses loopback, private and link-local
// addresses (Config.AllowPrivateUpstreams lifts that for development).
//
// # Failures
//
// Every failure ends on a page that says what happened and what to do,
// with a link that retries the partner's sign-in while the flow lives, and
// a button that cancels it (the relying party then gets access_denied).
// Attack signals are audited on the partner as federation.rejected (with a
// reason: bad_signature, wrong_audience, wrong_issuer, wrong_request,
// wrong_recipient, wrapped, malformed) or federation.replay.
package federation
