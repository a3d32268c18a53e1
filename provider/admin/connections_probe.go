package admin

import (
	"context"
	"net/http"

	"gatehouse/provider/web"
)

// ConnectionReport is what testing a connection found: OK when every
// check passed. The federation code fills it through
// Config.TestConnection; admin shows it as the API's answer and as the
// console's list of checks.
type ConnectionReport struct {
	OK     bool              `json:"ok"`
	Checks []ConnectionCheck `json:"checks"`
}

// ConnectionCheck is one thing a test looked at, with a sentence saying
// what it found and, when it failed, what to change.
type ConnectionCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// errNotAvailable is a 501 for an action this server was built without.
func errNotAvailable(desc string) *web.APIError {
	return &web.APIError{Status: http.StatusNotImplemented, Code: "not_implemented", Description: desc}
}

// testConnection runs the "test connection" action on the partner's
// connection id, with the rights of reading it, and records that it ran
// and what failed. It reaches the upstream, so it is slow, but it changes
// nothing: what is wrong upstream is in the report, not an error.
func (h *Handler) testConnection(ctx context.Context, a *actor, id string) (ConnectionReport, error) {
	c, err := h.connection(ctx, a, id)
	if err != nil {
		return ConnectionReport{}, err
	}
	if h.cfg.TestConnection == nil {
		return ConnectionReport{}, errNotAvailable("connection tests are not set up on this server")
	}
	rep, err := h.cfg.TestConnection(ctx, c.ID)
	if err != nil {
		// Deleted between the two reads: the same 404.
		return ConnectionReport{}, notFoundAs(err, errNotFound("connection"))
	}
	if rep.Checks == nil {
		rep.Checks = []ConnectionCheck{}
	}
	failed := []string{}
	for _, ch := range rep.Checks {
		if !ch.OK {
			failed = append(failed, ch.Name)
		}
	}
	// The test changed nothing, so a lost audit entry does not undo it.
	if err := h.audit(ctx, h.store, a, "connection.test", c.ID, map[string]any{
		"type": c.Type, "ok": rep.OK, "checks": len(rep.Checks), "failed": failed,
	}); err != nil {
		h.log.WarnContext(ctx, "admin: audit of a connection test failed", "connection", c.ID, "err", err)
	}
	return rep, nil
}

// POST /api/v1/partners/{p}/connections/{id}/test: 200 with the report,
// whether or not the connection passed.
func (h *Handler) apiTestConnection(w http.ResponseWriter, r *http.Request, a *actor) error {
	rep, err := h.testConnection(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, rep)
	return nil
}
