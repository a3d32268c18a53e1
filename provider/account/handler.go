package account

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"gatehouse/mail"
	"gatehouse/passwords"
	"gatehouse/provider/web"
	"gatehouse/storage"
	"gatehouse/templates"
)

// DefaultForgotMinDuration is how long /login/forgot takes at least, so that
// the time of the answer says nothing about the address asked for.
const DefaultForgotMinDuration = 400 * time.Millisecond

// Service is one service a user may open from /account.
type Service struct {
	Name string
	URL  string
}

// Config is what the Handler needs. Store, Ephemeral, Mail, CurrentUser and
// EndSessions are required.
type Config struct {
	// Issuer is the public base URL; links in mail hang off it.
	Issuer    string
	Store     storage.Store
	Ephemeral storage.Ephemeral
	// Mail sends mail; in production a mail.Queue, so pages never wait on
	// the mail server.
	Mail           mail.Sender
	PasswordParams passwords.Params

	// CurrentUser returns the browser's signed-in user and session.
	CurrentUser func(r *http.Request) (userID, sessionID string, ok bool)
	// EndSessions ends a user's sign-in sessions, all but exceptSessionID
	// ("" ends them all).
	EndSessions func(ctx context.Context, userID, exceptSessionID string) error
	// ResetLockout, when set, is called after a password reset unlocked an
	// account, to forget its failed sign-ins (the sign-in flow's counter).
	ResetLockout func(ctx context.Context, userID string) error
	// EmailConfirmed, when set, is told when a user confirmed a new
	// address and the change was applied (to drop a pending change the
	// admin API shows, say).
	EmailConfirmed func(ctx context.Context, userID, oldEmail, newEmail string)
	// SecurityPath, when set, is the page where the user manages their
	// second factors ("/account/security"); /account links to it.
	SecurityPath string
	// Services lists what the user may open, for /account; may be nil.
	Services func(ctx context.Context, u storage.User) []Service

	Secure web.Secure
	Now    func() time.Time
	Logger *slog.Logger

	// ForgotMinDuration pads every /login/forgot answer to at least this
	// long; DefaultForgotMinDuration when zero.
	ForgotMinDuration time.Duration
}

// Handler serves the account pages and sends the account mail.
type Handler struct {
	cfg    Config
	store  storage.Store
	eph    storage.Ephemeral
	mail   mail.Sender
	log    *slog.Logger
	now    func() time.Time
	issuer string
	// hashes bounds concurrent argon2id hashes (each takes its memory).
	hashes chan struct{}
}

// New returns a Handler. It panics when a required field is missing, which
// is a wiring mistake, not a runtime condition.
func New(cfg Config) *Handler {
	switch {
	case cfg.Store == nil, cfg.Ephemeral == nil, cfg.Mail == nil:
		panic("account: Store, Ephemeral and Mail are required")
	case cfg.CurrentUser == nil, cfg.EndSessions == nil:
		panic("account: CurrentUser and EndSessions are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PasswordParams == (passwords.Params{}) {
		cfg.PasswordParams = passwords.DefaultParams
	}
	if cfg.ForgotMinDuration <= 0 {
		cfg.ForgotMinDuration = DefaultForgotMinDuration
	}
	return &Handler{
		cfg:    cfg,
		store:  cfg.Store,
		eph:    cfg.Ephemeral,
		mail:   cfg.Mail,
		log:    cfg.Logger,
		now:    cfg.Now,
		issuer: strings.TrimRight(cfg.Issuer, "/"),
		hashes: make(chan struct{}, max(1, runtime.NumCPU())),
	}
}

// Mount registers the pages.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", h.serveAccount)
	mux.HandleFunc("POST /account", h.changePassword)
	mux.HandleFunc("GET /account/email/confirm", h.confirmEmail)
	mux.HandleFunc("GET /invite", h.showInvite)
	mux.HandleFunc("POST /invite", h.acceptInvite)
	mux.HandleFunc("POST /invite/resend", h.resendInvite)
	mux.HandleFunc("GET /login/forgot", h.showForgot)
	mux.HandleFunc("POST /login/forgot", h.forgot)
	mux.HandleFunc("GET /login/reset", h.showReset)
	mux.HandleFunc("POST /login/reset", h.reset)
}

// message shows the generic one-message page.
func message(w http.ResponseWriter, status int, title, text, linkText, linkURL string) {
	templates.RenderMessage(w, status, templates.Message{Title: title, Text: text, LinkText: linkText, LinkURL: linkURL})
}

// serverError answers a failure of ours: 503 when a backend is down, 500
// otherwise. The detail goes to the log, never to the page.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, storage.ErrUnavailable) {
		h.log.Warn("account: backend unavailable", "path", r.URL.Path, "err", err)
		message(w, http.StatusServiceUnavailable, "Temporarily unavailable",
			"Gatehouse cannot reach its storage right now. Try again in a minute.", "", "")
		return
	}
	h.log.Error("account: request failed", "path", r.URL.Path, "err", err)
	message(w, http.StatusInternalServerError, "Something went wrong",
		"Gatehouse could not finish this request. Try again later.", "", "")
}

// postForm parses a POSTed form and checks its CSRF token. It answers the
// request itself and returns false when either fails.
func (h *Handler) postForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			message(w, http.StatusRequestEntityTooLarge, "Form too large", "The form sent more data than Gatehouse accepts.", "", "")
			return false
		}
		message(w, http.StatusBadRequest, "Malformed form", "The form could not be read. Reload the page and try again.", "", "")
		return false
	}
	if !web.CheckCSRF(r) {
		message(w, http.StatusForbidden, "Form expired",
			"This form is no longer valid (csrf_token). Go back, reload the page and try again.", "", "")
		return false
	}
	return true
}

// signInURL is /login, with the address filled in where known.
func signInURL(email string) string {
	if email == "" {
		return "/login"
	}
	return "/login?login_hint=" + url.QueryEscape(email)
}
