package admin

import (
	"net/http"
	"net/url"
	"strings"

	"gatehouse/provider/policy"
	"gatehouse/templates"
)

// userPage shows one user with every form the caller may use on them.
type userPage struct {
	base
	U          userView
	Path       string // /admin/users/ID
	ListURL    string
	KindLabel  string
	Domain     string
	OrgName    string
	CreatedAt  string
	LockedText string
	PauseText  string
	Policy     userPolicy
	Services   string

	// What the caller may do; the same checks the service makes.
	CanEdit   bool // all fields (outranks them)
	SelfEdit  bool // own name and phone only
	CanManage bool // unlock, pause, reset, delete
	CanNotify bool
	CanInvite bool // resend the invitation: active, no password set yet
	Paused    bool
	HasConn   bool

	Edit  editForm
	Roles []option
	Notif notifForm

	ConfirmDelete bool
}

type editForm struct {
	Name, Phone, Email, Role           string
	Active, SSO, PasswordResetDisabled bool
}

type notifForm struct {
	Types       []notifType
	Frequencies []option
}

type notifType struct {
	Name, Label string
	On          bool
}

var notifLabels = map[string]string{"error": "Error notifications", "invoice": "Invoice notifications", "general": "General notifications"}

func (h *Handler) consoleUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.renderUser(w, r, a, r.PathValue("id"), http.StatusOK, "", nil, false)
}

func (h *Handler) consoleConfirmDelete(w http.ResponseWriter, r *http.Request, a *actor) error {
	if _, err := h.managed(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	return h.renderUser(w, r, a, r.PathValue("id"), http.StatusOK, "", nil, true)
}

// renderUser shows the user page; a refused edit shows its posted values
// again in edit.
func (h *Handler) renderUser(w http.ResponseWriter, r *http.Request, a *actor, id string, status int, msg string, edit *editForm, confirmDelete bool) error {
	ctx := r.Context()
	u, err := h.target(ctx, a, id)
	if err != nil {
		return err
	}
	v, err := h.view(ctx, a.partner, u, true)
	if err != nil {
		return err
	}
	pol, err := h.policyOf(ctx, a, id)
	if err != nil {
		return err
	}
	p := userPage{U: v, Path: "/admin/users/" + url.PathEscape(u.ID), KindLabel: kindLabels[u.Kind], Domain: a.partner.Domain,
		ListURL: kindLists[u.Kind], CreatedAt: when(u.CreatedAt), Policy: pol, ConfirmDelete: confirmDelete,
		CanManage: h.mayManage(a, u), Paused: v.MFA.PauseNextLogin || v.MFA.PausedUntil != nil}
	p.CanEdit = p.CanManage
	p.SelfEdit = u.ID == a.user.ID
	p.CanNotify = p.CanManage || p.SelfEdit
	p.CanInvite = p.CanManage && u.Active && u.PasswordHash == "" && h.cfg.Reinvites != nil
	p.base = h.newBase(w, r, a, u.Name, strings.SplitN(p.ListURL, "?", 2)[0])
	p.Error = msg
	if u.OrganizationID != "" {
		if o, err := h.store.GetOrganization(ctx, a.partner.ID, u.OrganizationID); err == nil {
			p.OrgName = o.Name
		}
	}
	if v.Locked {
		p.LockedText = "Locked after repeated failed sign-ins"
		if pol.Locked.Until != nil {
			p.LockedText += " until " + whenPtr(pol.Locked.Until)
		} else {
			p.LockedText += " until an administrator unlocks the account"
		}
	}
	switch {
	case v.MFA.PausedUntil != nil:
		p.PauseText = "Second factor paused until " + whenPtr(v.MFA.PausedUntil)
	case v.MFA.PauseNextLogin:
		p.PauseText = "Second factor paused for the next sign-in"
	}
	if p.PauseText != "" && v.MFA.PauseReason != "" {
		p.PauseText += " (" + v.MFA.PauseReason + ")"
	}
	var names []string
	for _, s := range pol.Services {
		names = append(names, s.Name)
	}
	p.Services = strings.Join(names, ", ")

	p.Edit = editForm{Name: u.Name, Phone: u.Phone, Email: u.Email, Role: u.Role, Active: u.Active, SSO: u.SSO,
		PasswordResetDisabled: u.PasswordResetDisabled}
	if edit != nil {
		p.Edit = *edit
	}
	if p.CanEdit {
		// The current role is always offered, so saving other fields keeps it.
		p.Roles = []option{{Value: u.Role, Label: u.Role, Selected: p.Edit.Role == u.Role}}
		for _, o := range h.roleOptions(a, u.Kind, p.Edit.Role) {
			if o.Value != u.Role {
				p.Roles = append(p.Roles, o)
			}
		}
		conns, err := h.store.ListConnections(ctx, a.partner.ID)
		if err != nil {
			return err
		}
		p.HasConn = len(conns) > 0 || u.SSO
	}
	for _, t := range policy.NotificationTypes {
		if policy.MayReceive(t, u.Role) {
			on := map[string]bool{"error": v.Notifications.Error, "invoice": v.Notifications.Invoice, "general": v.Notifications.General}[t]
			p.Notif.Types = append(p.Notif.Types, notifType{Name: t, Label: notifLabels[t], On: on})
		}
	}
	for _, f := range policy.Frequencies {
		p.Notif.Frequencies = append(p.Notif.Frequencies, option{Value: f, Label: f, Selected: f == v.Notifications.Frequency})
	}
	templates.Render(w, status, "admin_user", p)
	return nil
}

// userAction runs one form's service call and redirects back with done,
// or shows the user page again with the refusal.
func (h *Handler) userAction(w http.ResponseWriter, r *http.Request, a *actor, done string, fn func(id string) error) error {
	id := r.PathValue("id")
	if err := fn(id); err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderUser(w, r, a, id, status, msg, nil, false)
	}
	redirect(w, r, "/admin/users/"+url.PathEscape(id), done)
	return nil
}

// POST /admin/users/{id}: the same updateUser as PATCH. Only the fields the
// form carried change; the flags travel together, marked by "flags".
func (h *Handler) consoleUpdateUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	id := r.PathValue("id")
	in := userPatch{Name: formPtr(r, "name"), Phone: formPtr(r, "phone"), Role: formPtr(r, "role"), Email: formPtr(r, "email")}
	if r.PostFormValue("flags") != "" {
		in.Active, in.SSO, in.PasswordResetDisabled = formBool(r, "active"), formBool(r, "sso"), formBool(r, "password_reset_disabled")
	}
	u, err := h.updateUser(r.Context(), a, id, in)
	if err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		f := r.PostFormValue
		edit := editForm{Name: f("name"), Phone: f("phone"), Email: f("email"), Role: f("role"),
			Active: f("active") != "", SSO: f("sso") != "", PasswordResetDisabled: f("password_reset_disabled") != ""}
		return h.renderUser(w, r, a, id, status, msg, &edit, false)
	}
	done := "saved"
	if in.Email != nil && !strings.EqualFold(strings.TrimSpace(*in.Email), u.Email) {
		done = "email_pending"
	}
	redirect(w, r, "/admin/users/"+url.PathEscape(id), done)
	return nil
}

// POST /admin/users/{id}/delete: the same deleteUser as DELETE.
func (h *Handler) consoleDeleteUser(w http.ResponseWriter, r *http.Request, a *actor) error {
	id := r.PathValue("id")
	u, err := h.managed(r.Context(), a, id)
	if err == nil {
		err = h.deleteUser(r.Context(), a, id)
	}
	if err != nil {
		status, msg, ok := h.formError(r, err)
		if !ok {
			return err
		}
		return h.renderUser(w, r, a, id, status, msg, nil, false)
	}
	http.Redirect(w, r, kindLists[u.Kind]+sep(kindLists[u.Kind])+"done=deleted", http.StatusSeeOther)
	return nil
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func (h *Handler) consoleUnlock(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.userAction(w, r, a, "unlocked", func(id string) error { return h.unlock(r.Context(), a, id) })
}

func (h *Handler) consolePause(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.userAction(w, r, a, "paused", func(id string) error {
		_, err := h.pauseMFA(r.Context(), a, id, pauseIn{Until: r.PostFormValue("until"), Reason: r.PostFormValue("reason")})
		return err
	})
}

func (h *Handler) consoleEndPause(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.userAction(w, r, a, "pause_ended", func(id string) error { return h.endPause(r.Context(), a, id) })
}

func (h *Handler) consoleResetMFA(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.userAction(w, r, a, "reset", func(id string) error {
		_, err := h.resetMFA(r.Context(), a, id)
		return err
	})
}

func (h *Handler) consoleNotifications(w http.ResponseWriter, r *http.Request, a *actor) error {
	return h.userAction(w, r, a, "notifications", func(id string) error {
		f := r.PostFormValue
		_, err := h.setNotifications(r.Context(), a, id, notificationsIn{Error: f("error") != "", Invoice: f("invoice") != "",
			General: f("general") != "", Frequency: f("frequency")})
		return err
	})
}
