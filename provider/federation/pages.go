package federation

import (
	"net/http"

	"gatehouse/provider/web"
	"gatehouse/templates"
)

// problem is a failure the browser is told about: what happened and what
// to do. Pages never show protocol detail; the log has it.
type problem struct {
	Status int
	Title  string
	Text   string
	Todo   string
}

// errorPage is the data of federation_error.html.
type errorPage struct {
	Title string
	Text  string
	Todo  string
	// RetryURL sends the browser upstream again, for a flow that lives.
	RetryURL string
	// CancelAction ends the flow: the relying party gets access_denied.
	CancelAction string
	Flow         string
	CSRF         string
	// StartURL starts a new sign-in, when the flow is gone.
	StartURL string
}

// show renders p. With flowID (a flow that lives and belongs to this
// browser) the page offers to try again or to cancel; without, to start a
// new sign-in.
func (f *Federation) show(w http.ResponseWriter, r *http.Request, p problem, flowID string) {
	d := errorPage{Title: p.Title, Text: p.Text, Todo: p.Todo}
	if flowID != "" {
		d.RetryURL = f.stepURL(flowID)
		d.CancelAction = f.base + "/login/" + stepName
		d.Flow = flowID
		d.CSRF = f.cfg.Secure.CSRFToken(w, r)
	} else {
		d.StartURL = f.base + "/login"
	}
	web.PageHeaders(w.Header())
	templates.Render(w, p.Status, "federation_error", d)
}

// Problems shared by the handlers.
var (
	problemExpired = problem{
		Status: http.StatusBadRequest,
		Title:  "Sign-in expired",
		Text:   "This sign-in has expired or was already completed.",
		Todo:   "Go back to the application and sign in again.",
	}
	problemOtherBrowser = problem{
		Status: http.StatusBadRequest,
		Title:  "Sign-in started elsewhere",
		Text:   "This sign-in was started in another browser, or your browser did not keep Gatehouse's cookies.",
		Todo:   "Sign in again from this browser, and allow cookies for this site.",
	}
	problemUnavailable = problem{
		Status: http.StatusServiceUnavailable,
		Title:  "Temporarily unavailable",
		Text:   "Sign-in is temporarily unavailable because of a problem at Gatehouse.",
		Todo:   "Try again in a moment.",
	}
	problemInternal = problem{
		Status: http.StatusInternalServerError,
		Title:  "Something went wrong",
		Text:   "Sign-in failed because of an error at Gatehouse.",
		Todo:   "Try again in a moment. If it keeps failing, tell your administrator.",
	}
)
