package federation

import (
	"errors"
	"net/http"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

// serveCallback is GET /federation/{id}/callback, the redirect URI of an
// OIDC connection (RFC 6749 section 4.1.2; OpenID Connect Core 3.1.2.5).
func (f *Federation) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pend, conn, ok := f.returning(w, r, q.Get("state"), TypeOIDC)
	if !ok {
		return
	}
	flow, ok := f.flowOf(w, r, pend)
	if !ok {
		return
	}
	if code := q.Get("error"); code != "" {
		kind := failError
		if code == "access_denied" || code == "login_required" || code == "interaction_required" || code == "consent_required" {
			kind = failDenied
		}
		f.upstreamFailed(w, r, conn, pend, upstreamErr{kind: kind, code: truncate(code, 64)}, flow.ID)
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		f.upstreamFailed(w, r, conn, pend, upstreamErr{kind: failInvalid, reason: "malformed", err: errors.New("callback without a usable code")}, flow.ID)
		return
	}
	id, err := f.exchangeOIDC(r.Context(), conn, pend, code)
	if err != nil {
		f.upstreamFailed(w, r, conn, pend, err, flow.ID)
		return
	}
	f.complete(w, r, conn, pend, flow, id)
}

// returning consumes the state a browser brings back from upstream and
// reads the connection of the path. It answers the request itself (and
// returns false) when the state is unknown, used or for another
// connection.
func (f *Federation) returning(w http.ResponseWriter, r *http.Request, state, typ string) (pending, storage.Connection, bool) {
	ctx := r.Context()
	connID := r.PathValue("id")
	pend, err := f.takeState(ctx, state)
	switch {
	case errors.Is(err, errStateUsed):
		if c, err := f.store.GetConnection(ctx, connID); err == nil {
			f.log.Warn("federation: upstream answer replayed", "connection", c.ID)
			f.audit(ctx, r, c, "", "federation.replay", c.ID, map[string]any{"reason": "replay", "error": "the answer's state was already used"})
		}
		f.show(w, r, problem{
			Status: http.StatusBadRequest,
			Title:  "Sign-in answer already used",
			Text:   "This answer from your organization's sign-in service was already used once, so Gatehouse refused it.",
			Todo:   "Go back to the application and sign in again.",
		}, "")
		return pending{}, storage.Connection{}, false
	case errors.Is(err, errStateUnknown):
		f.show(w, r, problem{
			Status: http.StatusBadRequest,
			Title:  "Sign-in expired",
			Text:   "Gatehouse has no sign-in waiting for this answer: it expired, or it was not started here.",
			Todo:   "Go back to the application and sign in again.",
		}, "")
		return pending{}, storage.Connection{}, false
	case err != nil:
		f.fail(w, r, err, "")
		return pending{}, storage.Connection{}, false
	}
	conn, err := f.store.GetConnection(ctx, connID)
	if err == nil && (pend.ConnectionID != conn.ID || pend.Type != typ || conn.Type != typ) {
		err = storage.ErrNotFound
	}
	if errors.Is(err, storage.ErrNotFound) {
		// A state sent to the wrong connection's endpoint, or a connection
		// deleted or changed while the browser was away.
		f.log.Warn("federation: state returned to another connection", "path", connID, "state_connection", pend.ConnectionID)
		f.show(w, r, problem{
			Status: http.StatusBadRequest,
			Title:  "Sign-in answer misdirected",
			Text:   "This answer does not belong to the sign-in service it was sent to, so Gatehouse refused it.",
			Todo:   "Go back to the application and sign in again.",
		}, "")
		return pending{}, storage.Connection{}, false
	}
	if err != nil {
		f.fail(w, r, err, "")
		return pending{}, storage.Connection{}, false
	}
	return pend, conn, true
}

// flowOf loads the trip's flow, which must belong to this browser and still
// wait for this user's federated sign-in. It answers the request itself
// (and returns false) otherwise.
func (f *Federation) flowOf(w http.ResponseWriter, r *http.Request, pend pending) (*login.Flow, bool) {
	flow, err := f.flows.LoadFlow(r, pend.FlowID)
	switch {
	case errors.Is(err, login.ErrFlowNotBound):
		f.show(w, r, problemOtherBrowser, "")
		return nil, false
	case errors.Is(err, login.ErrFlowNotFound):
		f.show(w, r, problemExpired, "")
		return nil, false
	case err != nil:
		f.fail(w, r, err, "")
		return nil, false
	}
	if flow.UserID != pend.UserID || len(flow.AMR) > 0 {
		f.show(w, r, problemExpired, "")
		return nil, false
	}
	return flow, true
}

// truncate bounds text from outside before it is logged or shown.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
