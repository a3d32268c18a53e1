package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

// stepName is the step's page: /login/federation.
const stepName = "federation"

// attemptsKey counts, in Flow.StepData, the trips upstream this flow made:
// after the first, the upstream provider is asked to authenticate again, so
// that someone refused for a mismatched account can pick another.
const attemptsKey = "federation.attempts"

// step is the federation step of the sign-in flow.
type step struct{ f *Federation }

func (*step) Name() string { return stepName }

// Check asks for the page when the flow's user signs in through their
// partner's connection and no step has authenticated them yet.
func (s *step) Check(ctx context.Context, t *login.Turn) (login.Need, error) {
	if t.Flow.UserID == "" || len(t.Flow.AMR) > 0 {
		return login.Need{}, nil
	}
	u, err := t.User(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		// Deleted meanwhile: nothing authenticates them; the dispatcher
		// refuses an unauthenticated flow.
		return login.Need{}, nil
	}
	if err != nil {
		return login.Need{}, err
	}
	if !u.SSO {
		return login.Need{}, nil
	}
	return login.Need{Page: true, Passive: login.ErrLoginRequired}, nil
}

// Serve sends the browser to the partner's connection; a POST with cancel
// ends the flow instead (the "Cancel sign-in" button of the error pages).
func (s *step) Serve(w http.ResponseWriter, r *http.Request, t *login.Turn) {
	f := s.f
	ctx := r.Context()
	if r.Method == http.MethodPost && r.PostFormValue("cancel") != "" {
		t.Fail(w, r, login.ErrAccessDenied, "The sign-in was cancelled.")
		return
	}
	u, err := t.User(ctx)
	if err != nil {
		f.fail(w, r, err, "")
		return
	}
	conn, err := f.connectionFor(ctx, u.PartnerID)
	if errors.Is(err, errNoConnection) {
		f.log.Error("federation: user has sso on but the partner has no connection", "user", u.ID, "partner", u.PartnerID)
		f.show(w, r, problem{
			Status: http.StatusServiceUnavailable,
			Title:  "Sign-in not set up",
			Text:   "This account signs in through its organization's own sign-in service, but none is set up at Gatehouse.",
			Todo:   "Ask your administrator to add the connection, or to turn single sign-on off for your account.",
		}, "")
		return
	}
	if err != nil {
		f.fail(w, r, err, "")
		return
	}

	attempts, _ := strconv.Atoi(t.Flow.StepData[attemptsKey])
	if t.Flow.StepData == nil {
		t.Flow.StepData = map[string]string{}
	}
	t.Flow.StepData[attemptsKey] = strconv.Itoa(attempts + 1)
	if err := t.Save(ctx); err != nil {
		f.fail(w, r, err, "")
		return
	}
	// A relying party that asked for a fresh sign-in (prompt=login,
	// max_age, ForceAuthn) gets one upstream too, as does a second try.
	trip := trip{conn: conn, flow: t.Flow, user: u, again: attempts > 0 || t.Flow.ForceLogin}

	var to string
	switch conn.Type {
	case TypeOIDC:
		to, err = f.startOIDC(ctx, trip)
	case TypeSAML:
		to, err = f.startSAML(ctx, trip)
	default:
		err = fmt.Errorf("federation: connection %s has unknown type %q", conn.ID, conn.Type)
	}
	if err != nil {
		f.upstreamDown(w, r, conn, err, t.Flow.ID)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// trip is what starting a sign-in upstream needs.
type trip struct {
	conn  storage.Connection
	flow  *login.Flow
	user  storage.User
	again bool // ask the upstream provider to authenticate afresh
}

// upstreamDown answers a failure to start a sign-in at the connection: its
// discovery document or metadata cannot be had, or it is misconfigured.
func (f *Federation) upstreamDown(w http.ResponseWriter, r *http.Request, c storage.Connection, err error, flowID string) {
	if storageDown(err) {
		f.fail(w, r, err, flowID)
		return
	}
	f.log.Warn("federation: cannot start a sign-in at the connection", "connection", c.ID, "err", err)
	if errors.Is(err, errMisconfigured) || errors.Is(err, errPrivateAddress) {
		f.show(w, r, problem{
			Status: http.StatusServiceUnavailable,
			Title:  "Sign-in not set up correctly",
			Text:   fmt.Sprintf("The connection to %s, where this account signs in, is not set up correctly at Gatehouse.", displayName(c)),
			Todo:   "Tell your administrator: the connection's test in the console says what is wrong.",
		}, flowID)
		return
	}
	f.show(w, r, problem{
		Status: http.StatusBadGateway,
		Title:  "Sign-in service unreachable",
		Text:   fmt.Sprintf("Gatehouse cannot reach %s, where this account signs in, at the moment.", displayName(c)),
		Todo:   "Try again in a few minutes. If it keeps failing, tell your administrator: the connection's test in the console says what is wrong.",
	}, flowID)
}

// errMisconfigured marks a connection that cannot work as it is set up (a
// secret that does not decrypt, metadata without a sign-in service).
var errMisconfigured = errors.New("federation: connection misconfigured")

// storageDown reports whether err comes from Gatehouse's own backends.
func storageDown(err error) bool { return errors.Is(err, storage.ErrUnavailable) }

// fail answers an error of Gatehouse's own (a backend, a bug).
func (f *Federation) fail(w http.ResponseWriter, r *http.Request, err error, flowID string) {
	if storageDown(err) {
		f.log.Warn("federation: backend unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		f.show(w, r, problemUnavailable, flowID)
		return
	}
	f.log.Error("federation: internal error", "path", r.URL.Path, "err", err)
	f.show(w, r, problemInternal, flowID)
}
