package login

import (
	"context"
	"errors"
	"net/http"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// rolesStep refuses a user whose role may not use the relying party. It has
// no page: the refusal goes back to the relying party as access_denied. It
// runs before consent, so nobody is asked to allow what they may not use.
type rolesStep struct{ s *Service }

func (rolesStep) Name() string         { return "roles" }
func (rolesStep) afterAuthentication() {}

func (rolesStep) Check(ctx context.Context, t *Turn) (Need, error) {
	if len(t.Flow.AllowedRoles) == 0 {
		return Need{}, nil
	}
	u, err := t.User(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		// Deleted while their session lived: nobody to let in.
		return Need{Error: ErrAccessDenied, ErrorText: "This account no longer exists."}, nil
	}
	if err != nil {
		return Need{}, err
	}
	if !u.Active || !policy.RoleAllowed(t.Flow.AllowedRoles, u.Role) {
		return Need{Error: ErrAccessDenied, ErrorText: "Your role does not give you access to this service."}, nil
	}
	return Need{}, nil
}

// Serve is never reached: Check never asks for a page.
func (rolesStep) Serve(w http.ResponseWriter, r *http.Request, t *Turn) {
	t.s.message(w, http.StatusNotFound, "Page not found", "There is no such sign-in page.", "", "")
}
