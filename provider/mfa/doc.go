// Package mfa owns Gatehouse's second factors: TOTP (authenticator apps),
// WebAuthn (passkeys and security keys), single-use recovery codes, and
// SMS codes when a gateway is configured. It provides two steps of the
// sign-in flow (package login) and the account security pages.
//
// # Steps
//
//	mfa-enrol  /login/mfa-enrol  a factor is required and none is enrolled:
//	                             set up TOTP (QR code, otpauth:// link,
//	                             form with input code) or a passkey
//	mfa        /login/mfa        ask for a factor: form with input code (a
//	                             TOTP, recovery or SMS code); passkeys
//	                             through the browser's credentials API
//
// Register both with login.Config.Steps (MFA.Steps), after the federation
// step. Each step's Check asks the same question (assess.go) and takes the
// page only in its own case.
//
// # Who is asked
//
// policy.MFARequirement decides; this package never re-derives it:
//
//   - a factor is required for co-managing users, for every user of a
//     partner with require_mfa, and whenever the relying party asks for
//     one (Flow.RequireMFA, from acr_values=mfa);
//   - an admin's pause (User.MFAPauseNextLogin, User.MFAPauseUntil) sets
//     aside the requirement of kind, role or partner, never the relying
//     party's; the flow records it in Flow.MFAPaused, so the adapter can
//     tell a paused sign-in (amr ["pwd"], acr pwd) from a full one;
//   - a next-login pause is consumed by the sign-in that used it, as soon
//     as its password is checked. The SSO session that sign-in starts
//     stays paused for its life (a later flow reusing it is not stopped
//     for a factor), but the next fresh sign-in is asked again;
//   - a sign-in through the partner's connection (amr fed) is asked
//     nothing;
//   - a required factor with none enrolled is enrolled first (the first
//     sign-in of a co-managing user, or the one after an admin's reset).
//
// One rule is Gatehouse's own, as Keycloak does it: a user whom policy
// does not require a factor of, but who enrolled one, is asked for it at
// every sign-in (otherwise enrolling would protect nothing). An admin's
// pause covers them too.
//
// A sign-in that needed no factor is remembered for five minutes under its
// auth_time, so the SSO flows of its session skip the directory reads.
//
// # Methods
//
// A second factor adds to Flow.AMR (RFC 8176) otp for a TOTP, SMS or
// recovery code, hwk for WebAuthn, and mfa; login.ACR then gives acr mfa.
// Confirming a factor at enrolment counts as this sign-in's second factor.
//
// # Codes
//
// TOTP is RFC 6238 with SHA-1, six digits and 30-second steps, accepting
// one step of skew either way; a code is refused once used in its step
// (ephemeral key totp-used:USER:STEP). Secrets are sealed with keys.Box at
// rest (Factor.Secret = Box.Seal(base32 text), the form the seed file
// writes). Recovery codes are ten single-use 50-bit codes, stored as
// SHA-256 and consumed by DeleteFactor, whose ErrNotFound settles a race.
// SMS codes are six digits, valid five minutes, at most three sent per
// user in ten minutes, posted as JSON {"to", "code", "message"} to the
// configured webhook; the phone (E.164) is the SMS factor's Secret.
//
// At sign-in a wrong, reused, expired or malformed code gets one message
// and counts toward the lockout (Config.OnFailure, or the flow's own
// counter). A WebAuthn response that fails verification changes nothing
// and is not counted: it guesses no secret.
//
// # WebAuthn
//
// Built on github.com/go-webauthn/webauthn. The relying party ID and origin
// come from the issuer; an issuer on an IP address cannot have passkeys
// (WebAuthn forbids it), so they are off there and codes still work. Credentials are stored as the library's Credential
// JSON in Factor.Secret, with the sign counter also in Factor.Counter;
// user verification is required unless configured otherwise; a counter
// that does not increase refuses the assertion. Ceremonies wait in the
// ephemeral store for five minutes and are taken once. The pages carry
// their options as JSON (data-options) or fetch them from
// POST /account/security/webauthn/options; static/webauthn.js calls
// navigator.credentials and posts the answer in the page's form.
//
// # Account pages
//
//	GET  /account/security                   factors, and forms to change them
//	GET  /account/security/totp              a new TOTP secret to add
//	POST /account/security/totp              confirm it (input code, name)
//	POST /account/security/webauthn/options  creation options (JSON)
//	POST /account/security/webauthn          register a passkey (webauthn, name)
//	POST /account/security/remove            remove a factor (input factor)
//	POST /account/security/recovery          new recovery codes, shown once
//	POST /account/security/sms               text a code to a phone (input phone)
//	POST /account/security/sms/confirm       confirm it (input code)
//
// A user may not remove their last factor when one is mandatory
// (policy.CanRemoveFactor). The user's first factor comes with recovery
// codes, shown once.
package mfa
