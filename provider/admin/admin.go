package admin

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"gatehouse/keys"
	"gatehouse/provider/policy"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// Config is what the administration API and console need. Store,
// Ephemeral, VerifyToken and CurrentUser are required; the interfaces may
// be nil until the work behind them lands (then the store records only).
type Config struct {
	// Issuer is the public base URL; the console shows the addresses a
	// connection's upstream must know (redirect URI, SAML metadata) under
	// it. Optional.
	Issuer    string
	Store     storage.Store
	Ephemeral storage.Ephemeral
	// Roles is the role catalogue; policy.DefaultCatalogue when nil.
	Roles *policy.Catalogue
	// Box seals connections' client secrets; needed to store one.
	Box *keys.Box

	// VerifyToken checks a bearer access token of this issuer and returns
	// its user and scopes. An error wrapping storage.ErrUnavailable is a
	// 503; any other error is a 401.
	VerifyToken func(ctx context.Context, raw string) (userID string, scopes []string, err error)
	// CurrentUser returns the user of the browser's SSO session (console).
	CurrentUser func(r *http.Request) (userID string, ok bool)
	// Sessions ends a user's sessions everywhere and makes their tokens
	// unusable; called before a user is deleted or deactivated.
	Sessions interface {
		EndUser(ctx context.Context, userID string) error
	}
	// Invites mails a new user their set-password link (INTERFACE.md
	// section 9). Nil: the creation's audit entry is the only record.
	Invites interface {
		Invite(ctx context.Context, u storage.User) error
	}
	// Reinvites mails a user a fresh invitation; the previous link stops
	// working. Nil: POST .../users/{id}/invite answers 501.
	Reinvites interface {
		ResendInvite(ctx context.Context, u storage.User) error
	}
	// InviteRefusal sorts an error of Reinvites: a refusal because of the
	// user's state (InviteSetUp, InviteInactive) becomes a 409 or 422 that
	// says so; anything else (InviteFailed) is a failure. Nil: every error
	// is a failure.
	InviteRefusal func(err error) InviteRefusal
	// TestConnection is the "test connection" action: it tries a
	// connection as a sign-in would and reports what it found. An error
	// wrapping storage.ErrNotFound is an unknown connection. Nil: the
	// action answers 501.
	TestConnection func(ctx context.Context, connectionID string) (ConnectionReport, error)
	// EmailChanges mails a confirmation link to a user's new address and
	// applies the change once it is followed; it returns an error wrapping
	// storage.ErrAlreadyExists when another account has the address. Nil:
	// the change is only recorded as pending.
	EmailChanges interface {
		RequestEmailChange(ctx context.Context, u storage.User, newEmail string) error
	}
	// Notices tells a user an admin paused their second factor.
	Notices interface {
		MFAPaused(ctx context.Context, u storage.User, until time.Time, nextLogin bool, reason string) error
	}

	Secure web.Secure
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler serves the administration API and console.
type Handler struct {
	cfg   Config
	store storage.Store
	eph   storage.Ephemeral
	roles *policy.Catalogue
	now   func() time.Time
	log   *slog.Logger
}

// New returns a Handler over cfg.
func New(cfg Config) *Handler {
	if cfg.Roles == nil {
		cfg.Roles = policy.DefaultCatalogue()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg, store: cfg.Store, eph: cfg.Ephemeral, roles: cfg.Roles,
		now: func() time.Time { return cfg.Now().UTC() }, log: cfg.Logger}
}

// Mount adds the API and console routes to mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.mountAPI(mux)
	h.mountConsole(mux)
}

func (h *Handler) mountAPI(mux *http.ServeMux) {
	const p = "/api/v1/partners/{p}"
	routes := []struct {
		pattern string
		fn      apiFunc
	}{
		{"GET /api/v1/me", h.apiMe},

		{"GET " + p + "/users", h.apiListUsers},
		{"POST " + p + "/users", h.apiCreateUser},
		{"GET " + p + "/users/{id}", h.apiGetUser},
		{"PATCH " + p + "/users/{id}", h.apiUpdateUser},
		{"DELETE " + p + "/users/{id}", h.apiDeleteUser},

		{"POST " + p + "/users/{id}/unlock", h.apiUnlock},
		{"POST " + p + "/users/{id}/mfa/pause", h.apiPauseMFA},
		{"DELETE " + p + "/users/{id}/mfa/pause", h.apiEndPause},
		{"DELETE " + p + "/users/{id}/mfa", h.apiResetMFA},
		{"PUT " + p + "/users/{id}/notifications", h.apiPutNotifications},
		{"GET " + p + "/users/{id}/notifications", h.apiGetNotifications},
		{"GET " + p + "/users/{id}/policy", h.apiUserPolicy},
		{"POST " + p + "/users/{id}/invite", h.apiResendInvite},

		{"GET " + p + "/organizations", h.apiListOrganizations},
		{"POST " + p + "/organizations", h.apiCreateOrganization},
		{"GET " + p + "/organizations/{id}", h.apiGetOrganization},
		{"PATCH " + p + "/organizations/{id}", h.apiUpdateOrganization},
		{"DELETE " + p + "/organizations/{id}", h.apiDeleteOrganization},

		{"GET " + p + "/connections", h.apiListConnections},
		{"POST " + p + "/connections", h.apiCreateConnection},
		{"GET " + p + "/connections/{id}", h.apiGetConnection},
		{"PATCH " + p + "/connections/{id}", h.apiUpdateConnection},
		{"DELETE " + p + "/connections/{id}", h.apiDeleteConnection},
		{"POST " + p + "/connections/{id}/test", h.apiTestConnection},

		{"GET " + p + "/audit", h.apiAudit},
	}
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, h.api(rt.fn))
	}
	// Anything else under the API answers in the API's own error shape.
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		web.WriteError(w, errNotFound("resource"))
	})
}
