package admin

import (
	"net/http"

	"gatehouse/provider/web"
)

// meView is the caller, with what they may do.
type meView struct {
	userView
	AssignableRoles []string `json:"assignable_roles"`
	Rights          rights   `json:"rights"`
}

type rights struct {
	Users         bool `json:"users"`
	Organizations bool `json:"organizations"`
	Connections   bool `json:"connections"`
	Audit         bool `json:"audit"`
}

func (h *Handler) rightsOf(a *actor) rights {
	return rights{Users: h.mayReadUsers(a), Organizations: h.mayWriteOrgs(a),
		Connections: h.mayConnections(a), Audit: h.mayReadAudit(a)}
}

// GET /api/v1/me: any holder of an admin-scoped token, whatever their role.
func (h *Handler) apiMe(w http.ResponseWriter, r *http.Request, a *actor) error {
	v, err := h.view(r.Context(), a.partner, a.user, true)
	if err != nil {
		return err
	}
	out := meView{userView: v, AssignableRoles: []string{}, Rights: h.rightsOf(a)}
	for _, role := range h.roles.Assignable(a.user.Role) {
		out.AssignableRoles = append(out.AssignableRoles, role.Name)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
