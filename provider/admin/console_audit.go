package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"gatehouse/storage"
	"gatehouse/templates"
)

// auditPage is one page of the audit log, newest first.
type auditPage struct {
	base
	Rows     []auditRow
	FirstURL string
	NextURL  string
}

type auditRow struct {
	Time, Actor, Action, Target, IP, Details string
}

func (h *Handler) consoleAudit(w http.ResponseWriter, r *http.Request, a *actor) error {
	tok := r.URL.Query().Get("page_token")
	events, next, err := h.auditLog(r.Context(), a, storage.Page{Token: tok, Limit: 50})
	if err != nil {
		return err
	}
	p := auditPage{}
	p.base = h.newBase(w, r, a, "Audit log", "/admin/audit")
	for _, e := range events {
		p.Rows = append(p.Rows, auditRow{Time: when(e.Time), Actor: str(e.Details["actor_email"], e.Actor),
			Action: e.Action, Target: str(e.Details["target_email"], e.Target), IP: e.IP, Details: detailText(e.Details)})
	}
	if tok != "" {
		p.FirstURL = "/admin/audit"
	}
	if next != "" {
		p.NextURL = "/admin/audit?page_token=" + url.QueryEscape(next)
	}
	templates.Render(w, http.StatusOK, "admin_audit", p)
	return nil
}

func str(v any, fallback string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return fallback
}

// detailText shows an event's details as "key: value" pairs, by key,
// leaving out the emails already shown as actor and target.
func detailText(d map[string]any) string {
	var keys []string
	for k := range d {
		if k != "actor_email" && k != "target_email" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := d[k]
		if m, ok := v.(map[string]any); ok && len(m) == 2 && m["from"] != nil {
			parts = append(parts, fmt.Sprintf("%s: %v → %v", k, m["from"], m["to"]))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %v", k, v))
	}
	return strings.Join(parts, "; ")
}
