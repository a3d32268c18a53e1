// Package login owns the sign-in flow and the SSO session.
//
// Protocol adapters (OpenID Connect, SAML) never show a page of their own.
// They park their request in a Flow with Service.Begin; the Service moves
// the browser through the steps of the flow on Gatehouse's pages under
// /login; at the end it creates or refreshes the browser's SSO session and
// sends the browser back to the adapter's Flow.ReturnTo, where
// Service.Finish hands the flow back, once, with the authenticated user
// (UserID, AMR, AuthTime, SessionID) or an Err* refusal.
//
// # Steps
//
// A flow runs these steps in order; each is one Step in one file:
//
//	password   /login          identify the user, check the password
//	           (added steps)   federation, second factor, enrolment
//	roles      (no page)       refuse a role the relying party does not allow
//	consent    /login/consent  ask for third-party clients' scopes
//
// The dispatcher (dispatch.go, begin.go) asks each step's Check what the
// flow still needs; the first step that needs a page gets the browser. It
// alone checks that the flow exists, belongs to this browser (the gh_flow
// cookie), has not expired, and that a POST carries the CSRF token and is
// within the per-address rate limit, and it serves a step only when it is
// that step's turn.
//
// A new step is one file implementing Step, registered with Service.Use
// (or Config.Steps) while wiring. Added steps run after the password step
// and before roles and consent, in registration order:
//
//   - Federation (a partner's connection): the password step identifies a
//     user whose sso is on without checking a password and sets only
//     Flow.UserID. The federation step's Check asks for its page when the
//     user has sso and Flow.AMR is empty; its Serve redirects to the
//     upstream identity provider. The callback handler loads the flow with
//     Service.LoadFlow, sets Flow.AMR to ["fed"] (and AuthTime), and calls
//     Service.Resume. Until such a step is registered, an sso user gets a
//     "not available" page: no step may pass an unauthenticated flow on to
//     roles and consent.
//   - Second factor: Check decides from the user (Turn.User), the partner,
//     Flow.RequireMFA and any pause whether a factor is needed and not yet
//     given (Flow.AMR lacks "mfa"; skip when it has "fed"); Serve verifies
//     the code, appends "otp" or "hwk" and "mfa" to Flow.AMR, sets
//     Flow.AuthTime and Flow.MFAPaused as they apply, and calls Turn.Next.
//     Wrong codes count toward the lockout with Turn.CountFailure.
//   - Enrolment: Check asks for its page when a factor is required and
//     none is enrolled; register it before the second-factor step.
//
// # Sessions
//
// The SSO session lives in the ephemeral store (session.go); the browser's
// gh_session cookie holds its ID and a secret whose hash only the store
// keeps. Session.ID is public: it is the OIDC sid and the SAML
// SessionIndex. Adapters record the relying parties that received the
// session with Join; EndSession tells every SessionEndHandler registered
// with OnSessionEnd, so each protocol can log its relying parties out.
//
// # Lockout
//
// Consecutive wrong passwords are counted under LockoutKey(userID) in the
// ephemeral store; at LockoutThreshold the user's LockedUntil is set in the
// directory. Whatever unlocks a user must also clear the counter
// (ResetLockout does both).
package login
