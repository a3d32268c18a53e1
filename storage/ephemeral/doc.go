// Package ephemeral owns Gatehouse's short-lived store: the two
// implementations of storage.Ephemeral.
//
// Memory keeps everything in process. It serves a single node (the default
// when no Redis URL is configured) and tests that want to move time through an
// injected clock. Redis is shared by every node: sign-in flows, codes, SSO
// sessions, counters and cache-invalidation messages then survive a request
// landing on another node.
//
// Both honour the same contract, checked by storage/conformance.RunEphemeral:
// every value has a time to live and an expired key reads as absent; Take,
// SetNX and Incr are atomic; Publish fans out best-effort and never blocks the
// publisher on a slow subscriber. Redis keys and channels carry a prefix so
// that tenants and test runs can share one server.
package ephemeral
