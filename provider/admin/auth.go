package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// AdminScope is the scope an access token needs for the API.
const AdminScope = "admin"

// actor is the caller of a service method: a signed-in user of a partner,
// acting with their own role, from an address (for the audit log).
type actor struct {
	user    storage.User
	partner storage.Partner
	ip      string
}

// orgScope is the one organization an actor who is not an employee (an
// org_admin) is confined to; "" for employees.
func (a *actor) orgScope() string {
	if a.user.Kind == storage.KindEmployee {
		return ""
	}
	return a.user.OrganizationID
}

// apiFunc is an API endpoint, called with its authenticated caller.
type apiFunc func(w http.ResponseWriter, r *http.Request, a *actor) error

// api authenticates the caller, checks the {p} of the path is their own
// partner, runs fn, and writes fn's error in the API's shape.
func (h *Handler) api(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := h.bearer(r)
		if err == nil {
			// Another partner looks exactly like one that does not exist.
			if p := r.PathValue("p"); strings.Contains(r.Pattern, "{p}") && p != a.partner.ID {
				err = errNotFound("partner")
			} else {
				err = fn(w, r, a)
			}
		}
		if err == nil {
			return
		}
		e := h.apiError(r.Context(), err)
		switch e.Code {
		case codeInvalidToken:
			if r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			} else {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
			}
		case codeInsufficientScope:
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="`+AdminScope+`"`)
		}
		web.WriteError(w, e)
	}
}

func errToken(desc string) *web.APIError {
	return &web.APIError{Status: http.StatusUnauthorized, Code: codeInvalidToken, Description: desc}
}

// bearer finds the caller from the Authorization header (RFC 6750).
func (h *Handler) bearer(r *http.Request) (*actor, error) {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, errToken("a bearer access token is required")
	}
	if h.cfg.VerifyToken == nil {
		return nil, errToken("the access token is not valid")
	}
	userID, scopes, err := h.cfg.VerifyToken(r.Context(), raw)
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			return nil, err
		}
		return nil, errToken("the access token is not valid")
	}
	if !slices.Contains(scopes, AdminScope) {
		return nil, &web.APIError{Status: http.StatusForbidden, Code: codeInsufficientScope,
			Description: "the access token was not granted the admin scope"}
	}
	a, err := h.loadActor(r.Context(), userID, r)
	if errors.Is(err, errNoActor) {
		// A deleted or deactivated user's token is no token at all.
		return nil, errToken("the access token is not valid")
	}
	return a, err
}

var errNoActor = errors.New("admin: the signed-in user is gone or inactive")

// loadActor loads an active user and their partner.
func (h *Handler) loadActor(ctx context.Context, userID string, r *http.Request) (*actor, error) {
	u, err := h.store.GetUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !u.Active) {
		return nil, errNoActor
	}
	if err != nil {
		return nil, err
	}
	p, err := h.store.GetPartner(ctx, u.PartnerID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errNoActor
	}
	if err != nil {
		return nil, err
	}
	return &actor{user: u, partner: p, ip: web.ClientIP(r)}, nil
}
