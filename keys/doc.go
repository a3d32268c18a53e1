// Package keys owns Gatehouse's key material: the AES-GCM Box that encrypts
// secrets at rest (signing keys, TOTP secrets, upstream client secrets), and
// the Manager that keeps the token-signing keys, rotates them, and serves
// their public half as a pre-serialised JWKS and a SAML certificate.
//
// Signing keys live in the durable store so every node signs with the same
// key; each node reloads them on a rotation notice or on a short timer.
package keys
