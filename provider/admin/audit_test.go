package admin

import (
	"net/http"
	"slices"
	"testing"
)

func TestAuditAPI(t *testing.T) { run(t, auditScenarios) }

type auditList struct {
	Events        []auditView `json:"events"`
	NextPageToken string      `json:"next_page_token"`
}

var auditScenarios = []scenario{
	{"newest first, paged, per partner", func(t *testing.T, e *env) {
		id := e.users["comanager"].ID
		e.as("admin", "POST", acme+"/users/"+id+"/unlock", nil)
		e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "next_login", "reason": "new phone"})
		e.as("admin", "DELETE", acme+"/users/"+id+"/mfa/pause", nil)
		e.as("admin", "DELETE", acme+"/users/"+id+"/mfa", nil)
		e.as("admin", "PATCH", acme+"/organizations/initech", map[string]any{"saas_account": "SP-2"})
		e.as("betaadmin", "PATCH", "/api/v1/partners/beta/users/"+e.users["betatech"].ID, map[string]any{"name": "B"})

		r := e.as("admin", "GET", acme+"/audit", nil)
		want(t, r, http.StatusOK)
		var l auditList
		r.json(t, &l)
		var actions []string
		for _, ev := range l.Events {
			actions = append(actions, ev.Action)
		}
		if !slices.Equal(actions, []string{"organization.update", "mfa.reset", "mfa.pause_end", "mfa.pause", "user.unlock"}) {
			t.Errorf("actions %v", actions)
		}
		raw := r.m(t)["events"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "time", "actor", "action", "target", "ip", "details"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("event lacks %q", k)
			}
		}
		ev := l.Events[3]
		if ev.Actor != e.users["admin"].ID || ev.Target != id || ev.IP != "127.0.0.1" ||
			ev.Details["reason"] != "new phone" || ev.Details["actor_email"] != "admin@acme.example" || ev.Details["target_email"] != "comanager@acme.example" {
			t.Errorf("pause event %+v", ev)
		}
		for i := 1; i < len(l.Events); i++ {
			if l.Events[i].Time.After(l.Events[i-1].Time) {
				t.Errorf("event %d newer than event %d", i, i-1)
			}
		}
		// Pages of two walk the same events.
		var paged []string
		tok := ""
		for {
			e.as("admin", "GET", acme+"/audit?limit=2&page_token="+tok, nil).json(t, &l)
			for _, ev := range l.Events {
				paged = append(paged, ev.Action)
			}
			if tok = l.NextPageToken; tok == "" {
				break
			}
		}
		if !slices.Equal(paged, actions) {
			t.Errorf("paged %v", paged)
		}
		e.as("betaadmin", "GET", "/api/v1/partners/beta/audit", nil).json(t, &l)
		if len(l.Events) != 1 || l.Events[0].Action != "user.update" {
			t.Errorf("beta's log %+v", l.Events)
		}
		wantField(t, e.as("admin", "GET", acme+"/audit?page_token=zzz", nil), "page_token")
		want(t, e.as("tech", "GET", acme+"/audit", nil), http.StatusForbidden)
		want(t, e.as("orgadmin", "GET", acme+"/audit", nil), http.StatusForbidden)
		want(t, e.as("admin", "GET", "/api/v1/partners/beta/audit", nil), http.StatusNotFound)
	}},
}
