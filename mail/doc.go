// Package mail sends Gatehouse's mail: invitations, reset links, email-change
// confirmations and the notices that go with them.
//
// A Sender delivers one Message. SMTP speaks to a submission server (STARTTLS
// when offered, AUTH PLAIN only over TLS or to a local server); Log writes mail
// to the log when no server is configured; Queue sits in front of either so a
// request never waits on a mail server, retrying temporary (4xx) failures
// with backoff. Bodies come from the embedded templates under templates/,
// one plain-text and one HTML body per kind of mail (see Compose).
package mail
