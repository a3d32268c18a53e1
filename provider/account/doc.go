// Package account owns what a user does for themselves, and the mail that
// starts it:
//
//   - /account: the signed-in user's page (who they are, the services they
//     can open) and the password change form;
//   - the one-time links and their pages: the invitation that sets a first
//     password (/invite), "forgot password" (/login/forgot) and the reset it
//     mails (/login/reset), and the confirmation of a new email address
//     (/account/email/confirm);
//   - the notices that go with them (new account, password changed, address
//     about to change, second factor paused, account locked).
//
// A one-time link is a random 32-byte token. Only its SHA-256 is stored, in
// the ephemeral store, so neither a reader of the store nor its backups can
// use a link; it is taken atomically when used, so it works once, and it
// dies early when the password or the address it was issued against
// changes. The admin API reaches this package through Invite, ResendInvite,
// RequestEmailChange and MFAPaused; the sign-in flow is reached only through
// the functions in Config, so neither imports the other.
package account
