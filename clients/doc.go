// Package clients is the relying-party registry: OIDC clients and SAML
// service providers, their validation (redirect URIs, grant types,
// authentication methods, allowed roles), and an in-memory cache in front of
// the durable store so the token endpoint never waits on SQL to find a
// client. The cache is dropped when any node announces a change, and
// expires on its own after a short TTL in case an announcement was missed.
package clients
