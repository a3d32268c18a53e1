// Package oidc owns Gatehouse's OpenID Connect provider: ory/fosite composed
// with only the handlers Gatehouse uses, and the endpoints around it.
//
//	/.well-known/openid-configuration  discovery (bytes built once, in New)
//	/.well-known/jwks.json              the keys.Manager's pre-serialised JWKS
//	/oauth2/authorize                   code flow with PKCE; prompt, max_age,
//	                                    login_hint, id_token_hint, acr_values
//	/oauth2/authorize/resume            where a finished sign-in flow returns
//	/oauth2/token                       authorization_code, refresh_token,
//	                                    client_credentials
//	/oauth2/par                         pushed authorization requests (RFC 9126)
//	/oauth2/introspect                  RFC 7662, for any confidential client
//	/oauth2/revoke                      RFC 7009, only by the token's own client
//	/userinfo                           GET and POST, bearer token
//	/oauth2/logout                      RP-initiated logout; back-channel logout
//
// # The sign-in flow
//
// This package decides protocol; provider/login decides pages. The authorize
// endpoint validates the request with fosite, turns prompt, max_age,
// id_token_hint and acr_values into a login.Flow and parks the validated
// form in it. The login Service moves the browser through its pages and
// sends it back to the resume endpoint, which rebuilds the request from the
// parked form (fosite validates it again), loads the user, builds the claims,
// issues the code and records the client as a participant of the SSO session.
//
// # Tokens
//
// Access tokens are RFC 9068 JWTs signed with the active ES256 key; ID
// tokens use the client's id_token_signed_response_alg (RS256 by default, or
// ES256). Codes and refresh tokens are 32 random bytes, stored under their
// SHA-256. Where each lives (store.go):
//
//	authorization code, with its PKCE challenge and OIDC request   ephemeral
//	pushed authorization request                                    ephemeral
//	a user's access-token record (for introspection and revocation) ephemeral
//	refresh token and its family                                    SQL
//
// A client's own token (client credentials) keeps no record: its claims
// answer introspection (client_token.go), and access tokens that present
// again skip the signature check (verified.go).
//
// A token request touches SQL only for refresh tokens. Revocation state is
// read in one MGET: the access token's record, the user's "not valid before"
// marker (RevokeUser) and its family's "revoked" marker (a reused refresh
// token or authorization code). The family is fosite's request ID; it is the
// first part of every access token's jti, so the marker's key is known
// before the record is read.
//
// Client secrets are argon2id PHC strings; a secret is verified with argon2
// once and then from an in-memory cache (hasher.go).
//
// fosite types never leave this package.
package oidc
