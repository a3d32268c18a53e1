package federation

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

// AMR is the authentication method a federated sign-in records (RFC 8176
// "fed"); the second-factor step skips flows that carry it.
const AMR = "fed"

// subjectSep separates the connection from the subject in a stored
// User.UpstreamSubject; connection ids never contain it.
const subjectSep = "|"

// storedSubject is what User.UpstreamSubject holds for id at c.
func storedSubject(c storage.Connection, id identity) string {
	return c.ID + subjectSep + id.Subject
}

// Outcomes of matching an upstream identity with the flow's user.
type verdict int

const (
	matchSubject    verdict = iota // the stored subject matched
	matchEmail                     // the email matched; store the subject
	mismatch                       // another person
	mismatchUnverif                // the right email, but the upstream has not verified it
)

// match decides whether id, from connection c, is user u (INTERFACE.md
// section 7): by the stored subject when one from c is stored, else by the
// email, case-insensitively and verified where the upstream says.
func match(u storage.User, c storage.Connection, id identity) verdict {
	prefix := c.ID + subjectSep
	if strings.HasPrefix(u.UpstreamSubject, prefix) && id.Subject != "" {
		if u.UpstreamSubject == storedSubject(c, id) {
			return matchSubject
		}
		return mismatch
	}
	if id.Email == "" || !strings.EqualFold(strings.TrimSpace(id.Email), u.Email) {
		return mismatch
	}
	if id.EmailVerified != nil && !*id.EmailVerified {
		return mismatchUnverif
	}
	return matchEmail
}

// complete ends a trip upstream: it matches the identity with the flow's
// user and, if they are the same person, records the first match, marks
// the flow authenticated by "fed" and hands it back to the sign-in service.
func (f *Federation) complete(w http.ResponseWriter, r *http.Request, c storage.Connection, pend pending, flow *login.Flow, id identity) {
	ctx := r.Context()
	u, err := f.store.GetUser(ctx, flow.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		f.show(w, r, problemExpired, "")
		return
	}
	if err != nil {
		f.fail(w, r, err, flow.ID)
		return
	}
	if !u.Active || u.Locked(f.now()) || !u.SSO || u.PartnerID != c.PartnerID {
		// Changed by an admin while the browser was away.
		f.show(w, r, problem{
			Status: http.StatusForbidden,
			Title:  "Sign-in refused",
			Text:   "This account cannot sign in this way any more: it was changed while you were signing in.",
			Todo:   "Go back to the application and sign in again. If it keeps failing, ask your administrator.",
		}, "")
		return
	}

	v := match(u, c, id)
	if v == mismatch || v == mismatchUnverif {
		f.refuseMismatch(w, r, c, u, id, v, flow.ID)
		return
	}
	if v == matchEmail && id.Subject != "" && u.UpstreamSubject != storedSubject(c, id) {
		if err := f.link(r, c, u, id); err != nil {
			f.fail(w, r, err, flow.ID)
			return
		}
	}
	flow.AMR = []string{AMR}
	flow.AuthTime = f.now()
	f.flows.Resume(w, r, flow)
}

// errChanged aborts a link whose user changed meanwhile.
var errChanged = errors.New("federation: user changed meanwhile")

// link stores the upstream subject after the first match by email, unless
// another sign-in stored one meanwhile.
func (f *Federation) link(r *http.Request, c storage.Connection, u storage.User, id identity) error {
	want := storedSubject(c, id)
	_, err := f.store.UpdateUser(r.Context(), u.ID, func(cur storage.User) (storage.User, error) {
		if cur.UpstreamSubject != u.UpstreamSubject {
			return cur, errChanged
		}
		cur.UpstreamSubject = want
		cur.UpdatedAt = f.now().UTC()
		return cur, nil
	})
	if errors.Is(err, errChanged) {
		return nil
	}
	if err != nil {
		return err
	}
	f.audit(r.Context(), r, c, u.ID, "federation.link", u.ID, map[string]any{
		"upstream_subject": id.Subject, "upstream_email": id.Email, "previous": u.UpstreamSubject,
	})
	return nil
}

// refuseMismatch answers an upstream identity that is not the flow's user.
// The user is left as they were; the partner's audit log records it.
func (f *Federation) refuseMismatch(w http.ResponseWriter, r *http.Request, c storage.Connection, u storage.User, id identity, v verdict, flowID string) {
	reason := "different_account"
	if v == mismatchUnverif {
		reason = "email_not_verified"
	}
	f.log.Warn("federation: upstream identity does not match the user", "connection", c.ID, "user", u.ID, "reason", reason)
	f.audit(r.Context(), r, c, u.ID, "federation.mismatch", u.ID, map[string]any{
		"reason": reason, "upstream_subject": truncate(id.Subject, 256), "upstream_email": truncate(id.Email, 320),
	})
	name := displayName(c)
	text := fmt.Sprintf("This account at %s is not the Gatehouse user you signed in as (%s).", name, u.Email)
	if id.Email != "" && v == mismatch {
		text = fmt.Sprintf("This account at %s (%s) is not the Gatehouse user you signed in as (%s).", name, truncate(id.Email, 320), u.Email)
	}
	todo := fmt.Sprintf("Sign out of %s, then try again with the account for %s.", name, u.Email)
	if v == mismatchUnverif {
		text = fmt.Sprintf("%s has not verified the email address %s, so Gatehouse cannot tell that this account is yours.", upper(name), u.Email)
		todo = fmt.Sprintf("Verify your email address at %s, or ask your administrator.", name)
	}
	f.show(w, r, problem{Status: http.StatusForbidden, Title: "Wrong account", Text: text, Todo: todo}, flowID)
}
