package federation

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"gatehouse/storage"
)

// failKind sorts what can go wrong upstream by what the browser is told.
type failKind int

const (
	failUnreachable   failKind = iota // the provider cannot be reached
	failTimeout                       // it did not answer in time
	failRefused                       // its token endpoint refused the code
	failMisconfigured                 // the connection cannot work as set up
	failExpired                       // the answer is too old
	failInvalid                       // forged, tampered or misdirected: audited
	failDenied                        // the user cancelled, or the provider refused them
	failError                         // the provider answered with another error
)

// upstreamErr is a failure at, or of an answer from, the upstream provider.
type upstreamErr struct {
	kind   failKind
	reason string // for failInvalid: the audit reason
	code   string // for failDenied and failError: the provider's error code
	err    error
}

func (e upstreamErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("federation: upstream failure %d %s %s", e.kind, e.reason, e.code)
	}
	return e.err.Error()
}

func (e upstreamErr) Unwrap() error { return e.err }

// maxAuditDetail bounds the error text kept in an audit event.
const maxAuditDetail = 300

// upstreamFailed audits a failure upstream when it is an attack signal and
// shows its page. flowID names the flow the browser may retry ("" if it is
// gone).
func (f *Federation) upstreamFailed(w http.ResponseWriter, r *http.Request, c storage.Connection, pend pending, err error, flowID string) {
	f.auditFailure(r, c, pend, err)
	f.showFailure(w, r, c, pend, err, flowID)
}

// auditFailure records a forged, tampered, replayed or misdirected answer
// on the partner's audit log.
func (f *Federation) auditFailure(r *http.Request, c storage.Connection, pend pending, err error) {
	var ue upstreamErr
	if !errors.As(err, &ue) || ue.kind != failInvalid {
		return
	}
	action := "federation.rejected"
	if ue.reason == "replay" {
		action = "federation.replay"
	}
	f.log.Warn("federation: upstream answer refused", "connection", c.ID, "flow", pend.FlowID, "user", pend.UserID, "reason", ue.reason, "err", err)
	f.audit(r.Context(), r, c, pend.UserID, action, pend.UserID, map[string]any{"reason": ue.reason, "error": truncate(err.Error(), maxAuditDetail)})
}

// showFailure shows the page for a failure upstream.
func (f *Federation) showFailure(w http.ResponseWriter, r *http.Request, c storage.Connection, pend pending, err error, flowID string) {
	var ue upstreamErr
	if !errors.As(err, &ue) {
		f.fail(w, r, err, flowID)
		return
	}
	name := displayName(c)
	log := f.log.With("connection", c.ID, "flow", pend.FlowID, "user", pend.UserID, "err", err)
	switch ue.kind {
	case failInvalid:
		f.show(w, r, problem{
			Status: http.StatusBadRequest,
			Title:  "Sign-in answer refused",
			Text:   fmt.Sprintf("The answer from %s could not be trusted, so Gatehouse refused it. Nothing about your account changed.", name),
			Todo:   "Start the sign-in again. If this keeps happening, tell your administrator.",
		}, flowID)
	case failExpired:
		log.Info("federation: upstream answer too old")
		f.show(w, r, problem{
			Status: http.StatusBadRequest,
			Title:  "Sign-in answer too old",
			Text:   fmt.Sprintf("The answer from %s arrived too late to be accepted.", name),
			Todo:   "Try again. If it keeps happening, check that your computer's clock is right, or tell your administrator.",
		}, flowID)
	case failDenied:
		log.Info("federation: upstream denied the sign-in", "code", ue.code)
		f.show(w, r, problem{
			Status: http.StatusForbidden,
			Title:  "Sign-in not completed",
			Text:   fmt.Sprintf("%s did not sign you in: the sign-in was cancelled there, or it refused your account.", upper(name)),
			Todo:   "Try again with the right account, or cancel. If you think you should have access, ask your administrator.",
		}, flowID)
	case failError:
		log.Warn("federation: upstream answered with an error", "code", ue.code)
		f.show(w, r, problem{
			Status: http.StatusBadGateway,
			Title:  "Sign-in failed",
			Text:   fmt.Sprintf("%s could not complete the sign-in (it answered %q).", upper(name), ue.code),
			Todo:   "Try again in a moment. If it keeps failing, tell your administrator.",
		}, flowID)
	case failTimeout:
		log.Warn("federation: upstream did not answer in time")
		f.show(w, r, problem{
			Status: http.StatusGatewayTimeout,
			Title:  "Sign-in service too slow",
			Text:   fmt.Sprintf("%s did not answer in time.", upper(name)),
			Todo:   "Try again in a moment.",
		}, flowID)
	case failRefused:
		log.Warn("federation: upstream refused the code")
		f.show(w, r, problem{
			Status: http.StatusBadGateway,
			Title:  "Sign-in failed",
			Text:   fmt.Sprintf("%s refused to complete the sign-in.", upper(name)),
			Todo:   "Try again. If it keeps failing, tell your administrator: the connection's client ID or secret may be wrong.",
		}, flowID)
	case failMisconfigured:
		f.upstreamDown(w, r, c, fmt.Errorf("%w: %v", errMisconfigured, err), flowID)
	default:
		f.upstreamDown(w, r, c, err, flowID)
	}
}

// upper capitalises a sentence's first letter (display names start lower
// when they are the generic "your organization's sign-in service").
func upper(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// equalSecret compares two secrets in constant time.
func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
