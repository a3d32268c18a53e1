package admin

import (
	"context"
	"net/http"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// audit appends one event to the partner's log through st (the
// transaction of the change it records, so the two land together). The
// actor's email is kept beside their id: the log outlives deleted users.
func (h *Handler) audit(ctx context.Context, st storage.Store, a *actor, action, target string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["actor_email"] = a.user.Email
	return st.AppendAudit(ctx, storage.AuditEvent{
		PartnerID: a.partner.ID, Time: h.now(), Actor: a.user.ID, Action: action,
		Target: target, IP: a.ip, Details: details,
	})
}

// auditLog returns one page of the partner's log, newest first.
func (h *Handler) auditLog(ctx context.Context, a *actor, p storage.Page) ([]storage.AuditEvent, string, error) {
	if !h.mayReadAudit(a) {
		return nil, "", errForbidden("your role may not read the audit log")
	}
	events, next, err := h.store.ListAudit(ctx, a.partner.ID, p)
	if err != nil {
		return nil, "", notFoundAs(err, errField("page_token", "is not a page token of this list"))
	}
	return events, next, nil
}

// GET /api/v1/partners/{p}/audit
func (h *Handler) apiAudit(w http.ResponseWriter, r *http.Request, a *actor) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	events, next, err := h.auditLog(r.Context(), a, page)
	if err != nil {
		return err
	}
	out := struct {
		Events        []auditView `json:"events"`
		NextPageToken string      `json:"next_page_token"`
	}{Events: make([]auditView, 0, len(events)), NextPageToken: next}
	for _, e := range events {
		out.Events = append(out.Events, eventView(e))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
