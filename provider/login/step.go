package login

import (
	"context"
	"net/http"
	"time"

	"gatehouse/provider/web"
	"gatehouse/storage"
	"gatehouse/templates"
)

// Step is one stage of a sign-in: the password, a second factor, an
// enrolment, the partner's connection, consent. The dispatcher asks each
// step in order what it still needs; the first that needs a page gets the
// browser, at /login/NAME (the password step at /login).
//
// A step never checks that the flow exists, belongs to this browser, has
// not expired, or that a POST carries the CSRF token: the dispatcher has
// done so before Serve runs, and it only calls Serve for the step whose
// turn it is, so a step cannot be skipped by posting to a later one.
type Step interface {
	// Name is the step's path segment under /login; it must be unique and
	// not one of the reserved names (password, roles, consent, return,
	// forgot, reset, invite, set-password).
	Name() string
	// Check reports what the flow needs from this step now. It runs on
	// every move of the flow, so it must be cheap when the step is done
	// (keep the step's progress in Flow.StepData or Flow.AMR).
	Check(ctx context.Context, t *Turn) (Need, error)
	// Serve answers GET and POST of the step's page: it renders its page,
	// or records its progress in t.Flow and calls t.Next, or ends the flow
	// with t.Fail.
	Serve(w http.ResponseWriter, r *http.Request, t *Turn)
}

// Need is a step's answer to Check. The zero Need means the step has
// nothing (more) to do.
type Need struct {
	// Page: the browser must see the step's page.
	Page bool
	// Passive is the error a passive flow (prompt=none) ends with instead
	// of the page; ErrInteractionRequired when empty.
	Passive string
	// Error ends the flow at once, with no page (ErrAccessDenied for a role
	// that may not use the relying party).
	Error     string
	ErrorText string
}

// Turn is one request's handle on a flow, given to steps.
type Turn struct {
	Flow *Flow
	s    *Service
	// user caches the flow's user for the length of one request.
	user   *storage.User
	userID string
	// session is the browser's SSO session as Begin read it, so that a
	// flow that needs no page reads it once, not twice.
	session *sessionRecord
}

// Now is the Service's clock.
func (t *Turn) Now() time.Time { return t.s.now() }

// Directory is the durable store of users, factors and consents.
func (t *Turn) Directory() storage.Directory { return t.s.dir }

// Ephemeral is the shared store of short-lived data.
func (t *Turn) Ephemeral() storage.Ephemeral { return t.s.eph }

// User returns the flow's user (Flow.UserID), read once per request.
func (t *Turn) User(ctx context.Context) (storage.User, error) {
	if t.Flow.UserID == "" {
		return storage.User{}, storage.ErrNotFound
	}
	if t.user != nil && t.userID == t.Flow.UserID {
		return *t.user, nil
	}
	u, err := t.s.dir.GetUser(ctx, t.Flow.UserID)
	if err != nil {
		return storage.User{}, err
	}
	t.user, t.userID = &u, u.ID
	return u, nil
}

// SetUser records the flow's user, for a step that identified them.
func (t *Turn) SetUser(u storage.User) {
	t.Flow.UserID = u.ID
	t.user, t.userID = &u, u.ID
}

// Next saves the flow and moves the browser on to whatever the flow needs
// next: another step's page, or the end of the flow.
func (t *Turn) Next(w http.ResponseWriter, r *http.Request) {
	t.s.advance(w, r, t)
}

// Fail ends the flow with a protocol error (one of the Err* constants) and
// sends the browser back to the adapter, which answers the relying party.
func (t *Turn) Fail(w http.ResponseWriter, r *http.Request, code, text string) {
	t.s.fail(w, r, t.Flow, code, text)
}

// Save stores the flow without moving it, for a step that stays on its
// page but changed its progress (a failed attempt counted, say).
func (t *Turn) Save(ctx context.Context) error { return t.s.saveFlow(ctx, t.Flow) }

// PageData is what every step page receives: the flow to post back, the
// CSRF token, the relying party's name, an error to show, and the step's
// own data.
type PageData struct {
	Flow   string
	CSRF   string
	RPName string
	Action string // where the page's form posts
	Base   string // the issuer's path, before every link ("" at the root)
	Error  string
	Data   any
}

// Render shows a step page (templates/html/PAGE.html) with status; data is
// available to the template as .Data and errText as .Error.
func (t *Turn) Render(w http.ResponseWriter, r *http.Request, status int, step Step, page, errText string, data any) {
	action := t.s.base + "/login"
	if step != nil && step.Name() != t.s.password.Name() {
		action += "/" + step.Name()
	}
	web.PageHeaders(w.Header())
	templates.Render(w, status, page, PageData{
		Flow:   t.Flow.ID,
		CSRF:   t.s.cfg.Secure.CSRFToken(w, r),
		RPName: t.Flow.RPName,
		Action: action,
		Base:   t.s.base,
		Error:  errText,
		Data:   data,
	})
}

// Unavailable shows the "temporarily unavailable" page (503) when a
// backend is down, and a generic error page otherwise.
func (t *Turn) Unavailable(w http.ResponseWriter, r *http.Request, err error) {
	t.s.serverError(w, r, err)
}
