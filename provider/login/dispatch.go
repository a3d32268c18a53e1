package login

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse/provider/web"
	"gatehouse/templates"
)

// maxFormBytes bounds a sign-in form post; the largest field, a password,
// is at most 1 KiB.
const maxFormBytes = 64 << 10

// serveLogin is /login: the password step of a flow, or, without a flow, the
// start of a sign-in to Gatehouse itself.
func (s *Service) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Query().Get("flow") == "" {
		s.beginSelf(w, r)
		return
	}
	s.dispatch(w, r, s.password)
}

// serveStep is /login/{step}.
func (s *Service) serveStep(w http.ResponseWriter, r *http.Request) {
	st, ok := s.stepNamed(r.PathValue("step"))
	if !ok || st.Name() == s.password.Name() {
		s.message(w, http.StatusNotFound, "Page not found", "There is no such sign-in page.", "", "")
		return
	}
	s.dispatch(w, r, st)
}

// dispatch makes the checks every step page shares, then serves the step
// if it is the flow's current one, or sends the browser to the right one.
func (s *Service) dispatch(w http.ResponseWriter, r *http.Request, st Step) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.message(w, http.StatusBadRequest, "Sign-in form not readable", "The form could not be read. Go back and try again.", "", "")
			return
		}
		if limited, err := s.rateLimited(r); err != nil {
			s.serverError(w, r, err)
			return
		} else if limited {
			w.Header().Set("Retry-After", "60")
			s.message(w, http.StatusTooManyRequests, "Too many attempts", "Too many sign-in attempts came from your address. Wait a minute and try again.", "", "")
			return
		}
		if !web.CheckCSRF(r) {
			s.message(w, http.StatusForbidden, "Form expired", "This form is out of date (csrf_token is missing or wrong). Go back, reload the page and try again.", "", "")
			return
		}
	}
	id := r.FormValue("flow")
	if id == "" || !validID(id) || !isBound(r, id) {
		s.expired(w)
		return
	}
	f, err := s.loadFlow(r.Context(), id)
	if err != nil {
		s.ShowError(w, r, err)
		return
	}
	if f.Done {
		http.Redirect(w, r, returnURL(f), http.StatusSeeOther)
		return
	}
	s.run(w, r, &Turn{Flow: f, s: s}, st)
}

// rateLimited counts a sign-in post against the caller's address.
func (s *Service) rateLimited(r *http.Request) (bool, error) {
	if s.cfg.LoginRateLimit < 0 {
		return false, nil
	}
	n, err := s.eph.Incr(r.Context(), "rl:login:"+web.ClientIP(r), time.Minute)
	if err != nil {
		return false, err
	}
	return n > int64(s.cfg.LoginRateLimit), nil
}

// selfRequest is the parked request of a sign-in to Gatehouse itself.
type selfRequest struct {
	ReturnTo string `json:"return_to"`
}

// beginSelf starts a flow that ends at a local page, /account by default.
func (s *Service) beginSelf(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to := q.Get("return_to")
	if !localPath(to) {
		to = s.base + "/account"
	}
	req, _ := json.Marshal(selfRequest{ReturnTo: to})
	s.Begin(w, r, &Flow{
		Protocol:   ProtocolGatehouse,
		RP:         ProtocolGatehouse,
		RPName:     "Gatehouse",
		ReturnTo:   s.base + "/login/return",
		Request:    req,
		LoginHint:  q.Get("login_hint"),
		ForceLogin: q.Get("prompt") == "login",
	})
}

// localPath accepts only a path on this server, so return_to can never
// send a signed-in browser elsewhere.
func localPath(p string) bool {
	if p == "" || len(p) > 2048 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// serveReturn is where Gatehouse's own sign-ins end.
func (s *Service) serveReturn(w http.ResponseWriter, r *http.Request) {
	f, err := s.Finish(w, r)
	if err != nil {
		s.ShowError(w, r, err)
		return
	}
	if f.Error != "" {
		text := f.ErrorText
		if text == "" {
			text = "You cannot sign in here."
		}
		s.message(w, http.StatusForbidden, "Sign-in refused", text, "Back to sign-in", s.base+"/login")
		return
	}
	var req selfRequest
	if err := json.Unmarshal(f.Request, &req); err != nil || !localPath(req.ReturnTo) {
		req.ReturnTo = s.base + "/account"
	}
	http.Redirect(w, r, req.ReturnTo, http.StatusSeeOther)
}

// serveLogout is the "Sign out" button of Gatehouse's own pages.
func (s *Service) serveLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !web.CheckCSRF(r) {
		s.message(w, http.StatusForbidden, "Form expired", "This form is out of date (csrf_token is missing or wrong). Go back, reload the page and try again.", "", "")
		return
	}
	if sess, ok := s.Current(r); ok {
		if err := s.EndSession(r.Context(), sess.ID); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.ClearCookie(w)
	http.Redirect(w, r, s.base+"/logout/done", http.StatusSeeOther)
}

func (s *Service) serveLogoutDone(w http.ResponseWriter, r *http.Request) {
	s.message(w, http.StatusOK, "Signed out", "You are signed out of Gatehouse.", "Sign in again", s.base+"/login")
}

// ShowError renders the page for an error of Finish, LoadFlow or a
// backend: an expired or foreign flow is a 400 that says to start again, an
// unreachable backend a 503, anything else a 500 (logged).
func (s *Service) ShowError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrFlowNotFound), errors.Is(err, ErrFlowNotBound):
		s.expired(w)
	case errors.Is(err, ErrFlowNotDone):
		s.message(w, http.StatusBadRequest, "Sign-in not finished", "This sign-in is not finished yet. Go back to the application and start again.", "", "")
	default:
		s.serverError(w, r, err)
	}
}

func (s *Service) expired(w http.ResponseWriter) {
	s.message(w, http.StatusBadRequest, "Sign-in expired", "This sign-in has expired. Go back to the application and start again.", "", "")
}

// serverError answers a backend failure: 503 when it is unreachable, 500
// otherwise; the detail goes to the log, never to the page.
func (s *Service) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if unavailable(err) {
		s.log.Warn("login: backend unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		s.message(w, http.StatusServiceUnavailable, "Temporarily unavailable", "Sign-in is temporarily unavailable. Try again in a moment.", "", "")
		return
	}
	s.log.Error("login: internal error", "path", r.URL.Path, "err", err)
	s.message(w, http.StatusInternalServerError, "Something went wrong", "Sign-in failed because of an error at Gatehouse. Try again in a moment.", "", "")
}

// notAuthenticated is reached when every authentication step passed
// without authenticating the user: a user who signs in through their
// partner's connection while no federation step is installed.
func (s *Service) notAuthenticated(w http.ResponseWriter, r *http.Request, t *Turn) {
	s.log.Error("login: no step authenticated the user", "flow", t.Flow.ID, "user", t.Flow.UserID)
	s.message(w, http.StatusServiceUnavailable, "Sign-in not available",
		"This account signs in through its organization's own sign-in service, which Gatehouse cannot reach at the moment.", "", "")
}

func (s *Service) message(w http.ResponseWriter, status int, title, text, linkText, linkURL string) {
	web.PageHeaders(w.Header())
	templates.RenderMessage(w, status, templates.Message{Title: title, Text: text, LinkText: linkText, LinkURL: linkURL})
}
