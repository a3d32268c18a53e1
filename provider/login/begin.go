package login

import (
	"errors"
	"net/http"

	"gatehouse/storage"
)

// ProtocolGatehouse marks a flow that signs a user in to Gatehouse's own
// pages (/account, /admin) rather than to a relying party.
const ProtocolGatehouse = "gatehouse"

// Begin parks f and answers the request. It assigns f.ID, CreatedAt and
// ExpiresAt and binds the flow to the browser by a cookie. Unless
// f.ForceLogin, a valid SSO session supplies the user. Steps that need no
// page run at once; if none needs one the browser goes straight to
// f.ReturnTo with flow=ID; if one does and f.Passive, the flow ends there
// with ErrLoginRequired, ErrConsentRequired or ErrInteractionRequired;
// otherwise the browser is sent to the first page.
func (s *Service) Begin(w http.ResponseWriter, r *http.Request, f *Flow) {
	now := s.now()
	f.ID = newID(flowIDLen)
	f.CreatedAt = now
	f.ExpiresAt = now.Add(s.cfg.FlowTTL)
	f.Done, f.Error, f.ErrorText = false, "", ""
	t := &Turn{Flow: f, s: s}
	if !f.ForceLogin {
		rec, err := s.currentRecord(r.Context(), r)
		switch {
		case err == nil:
			t.session = rec
			f.UserID = rec.UserID
			f.AMR = append([]string(nil), rec.AMR...)
			f.AuthTime = rec.AuthTime
			f.SessionID = rec.ID
		case errors.Is(err, storage.ErrNotFound):
		default:
			s.serverError(w, r, err)
			return
		}
	}
	s.bind(w, r, f.ID)
	s.advance(w, r, t)
}

// LoadFlow returns the flow id for a handler outside /login (a partner
// connection's callback) after the same checks the steps get: it exists,
// has not expired, and was started by this browser.
func (s *Service) LoadFlow(r *http.Request, id string) (*Flow, error) {
	if !isBound(r, id) {
		return nil, ErrFlowNotBound
	}
	f, err := s.loadFlow(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if f.Done {
		return nil, ErrFlowNotFound
	}
	return f, nil
}

// Resume continues a flow from outside the pages: a partner connection's
// callback sets f.UserID and f.AMR (["fed"]) on a flow from LoadFlow and
// hands it back here, which saves it and moves the browser on.
func (s *Service) Resume(w http.ResponseWriter, r *http.Request, f *Flow) {
	s.advance(w, r, &Turn{Flow: f, s: s})
}

// Finish is called by the adapter at ReturnTo. It reads the query's flow,
// checks that this browser started it and that it is done, and consumes
// it: a flow is finished once. A finished flow with Error set is a refusal
// the adapter passes on in its own protocol. Errors are ErrFlowNotFound,
// ErrFlowNotBound, ErrFlowNotDone, or a backend failure wrapping
// storage.ErrUnavailable; ShowError renders any of them.
func (s *Service) Finish(w http.ResponseWriter, r *http.Request) (*Flow, error) {
	id := r.URL.Query().Get("flow")
	if !validID(id) {
		return nil, ErrFlowNotFound
	}
	if !isBound(r, id) {
		return nil, ErrFlowNotBound
	}
	ctx := r.Context()
	b, err := s.eph.Take(ctx, flowKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrFlowNotFound
	}
	if err != nil {
		return nil, err
	}
	f, err := s.decodeFlow(b)
	if err != nil {
		return nil, err
	}
	if !f.Done {
		// Reached ReturnTo early (by hand): put it back untouched.
		if err := s.saveFlow(ctx, f); err != nil {
			return nil, err
		}
		return nil, ErrFlowNotDone
	}
	s.unbind(w, r, id)
	return f, nil
}

// advance saves the flow and moves the browser to whatever it needs next.
func (s *Service) advance(w http.ResponseWriter, r *http.Request, t *Turn) {
	s.run(w, r, t, nil)
}

// run asks each step in turn what the flow needs. The first step that needs
// a page is served when it is the one the browser is on (serving), and
// otherwise the browser is sent to it; a step's error ends the flow; when
// nothing is needed the flow completes.
func (s *Service) run(w http.ResponseWriter, r *http.Request, t *Turn, serving Step) {
	ctx := r.Context()
	f := t.Flow
	for _, st := range s.stepList() {
		if _, gate := st.(afterAuthentication); gate && !authenticated(f) {
			s.notAuthenticated(w, r, t)
			return
		}
		need, err := st.Check(ctx, t)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if need.Error != "" {
			s.fail(w, r, f, need.Error, need.ErrorText)
			return
		}
		if !need.Page {
			continue
		}
		if f.Passive {
			code := need.Passive
			if code == "" {
				code = ErrInteractionRequired
			}
			s.fail(w, r, f, code, "")
			return
		}
		if serving != nil && st.Name() == serving.Name() {
			st.Serve(w, r, t)
			return
		}
		if err := s.saveFlow(ctx, f); err != nil {
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, s.stepURL(st, f.ID), http.StatusSeeOther)
		return
	}
	s.complete(w, r, t)
}

// afterAuthentication marks steps that run only once the user is
// authenticated (the role check, consent): before them the dispatcher
// insists that some step has authenticated the user.
type afterAuthentication interface{ afterAuthentication() }

func authenticated(f *Flow) bool { return f.UserID != "" && len(f.AMR) > 0 }

func (s *Service) stepURL(st Step, flowID string) string {
	if st.Name() == s.password.Name() {
		return s.base + "/login?flow=" + flowID
	}
	return s.base + "/login/" + st.Name() + "?flow=" + flowID
}

// fail ends the flow with a protocol error and returns to the adapter.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, f *Flow, code, text string) {
	f.Done, f.Error, f.ErrorText = true, code, text
	if err := s.saveFlow(r.Context(), f); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, returnURL(f), http.StatusSeeOther)
}

// complete creates or refreshes the SSO session and returns to the adapter.
func (s *Service) complete(w http.ResponseWriter, r *http.Request, t *Turn) {
	f := t.Flow
	if !authenticated(f) {
		s.notAuthenticated(w, r, t)
		return
	}
	sess, err := s.establish(w, r, t)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	f.SessionID = sess.ID
	f.AuthTime = sess.AuthTime
	f.Done = true
	if err := s.saveFlow(r.Context(), f); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, returnURL(f), http.StatusSeeOther)
}
