package admin

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

func TestActionsAPI(t *testing.T) { run(t, actionScenarios) }

var actionScenarios = []scenario{
	{"unlock", func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.users["comanager"].ID
		if _, err := e.store.UpdateUser(ctx, id, func(u storage.User) (storage.User, error) {
			u.LockedUntil = e.clock.Now().Add(time.Hour)
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.eph.Incr(ctx, LockoutKey(id), time.Hour); err != nil {
			t.Fatal(err)
		}
		var v userView
		e.as("admin", "GET", acme+"/users/"+id, nil).json(t, &v)
		if !v.Locked || v.LockedUntil == nil {
			t.Errorf("not shown locked: %+v", v)
		}
		want(t, e.as("tech", "POST", acme+"/users/"+id+"/unlock", nil), http.StatusForbidden)
		want(t, e.as("business", "POST", acme+"/users/"+id+"/unlock", nil), http.StatusNoContent)
		if e.user("comanager").Locked(e.clock.Now()) {
			t.Error("still locked")
		}
		if _, err := e.eph.Get(ctx, LockoutKey(id)); err == nil {
			t.Error("lockout counter kept")
		}
		events, _, _ := e.store.ListAudit(ctx, "acme", storage.Page{})
		if events[0].Action != "user.unlock" || events[0].Details["was_locked"] != true || events[0].Actor != e.users["business"].ID {
			t.Errorf("audit %+v", events[0])
		}
		want(t, e.as("business", "POST", acme+"/users/"+e.users["admin"].ID+"/unlock", nil), http.StatusForbidden)
	}},

	{"pause for the next sign-in", func(t *testing.T, e *env) {
		id := e.users["comanager"].ID
		r := e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "next_login", "reason": "lost phone"})
		want(t, r, http.StatusOK)
		var p pauseView
		r.json(t, &p)
		if p.Until != "next_login" || !p.PauseNextLogin || p.PausedUntil != nil || p.Reason != "lost phone" {
			t.Errorf("pause %s", r.body)
		}
		u := e.user("comanager")
		if !u.MFAPauseNextLogin || !u.MFAPauseUntil.IsZero() || u.MFAPauseReason != "lost phone" {
			t.Errorf("stored %+v", u)
		}
		if len(e.notices.notices) != 1 || !e.notices.notices[0].nextLogin || e.notices.notices[0].email != u.Email {
			t.Errorf("notices %+v", e.notices.notices)
		}
		var v userView
		e.as("admin", "GET", acme+"/users/"+id, nil).json(t, &v)
		if !v.MFA.PauseNextLogin || v.MFA.PausedUntil != nil || v.MFA.PauseReason != "lost phone" {
			t.Errorf("user shows %+v", v.MFA)
		}
		events, _, _ := e.store.ListAudit(context.Background(), "acme", storage.Page{})
		if events[0].Action != "mfa.pause" || events[0].Details["reason"] != "lost phone" || events[0].Details["until"] != "next_login" {
			t.Errorf("audit %+v", events[0])
		}
		// The sign-in flow's view of it: the next sign-in skips the factor
		// and uses the pause up.
		d := policy.MFARequirement(policy.MFAInput{Kind: string(u.Kind), Role: u.Role, PauseNextLogin: u.MFAPauseNextLogin,
			PauseUntil: u.MFAPauseUntil, Now: e.clock.Now(), EnrolledFactors: 1})
		if d.Required || !d.Paused || !d.PauseConsumed {
			t.Errorf("decision %+v", d)
		}
	}},

	{"pause for 24 hours, then end it", func(t *testing.T, e *env) {
		id := e.users["comanager"].ID
		r := e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "24h"})
		want(t, r, http.StatusOK)
		var p pauseView
		r.json(t, &p)
		u := e.user("comanager")
		if p.PauseNextLogin || p.PausedUntil == nil || !p.PausedUntil.Equal(u.MFAPauseUntil) || u.MFAPauseNextLogin {
			t.Errorf("pause %s, stored %+v", r.body, u)
		}
		if d := u.MFAPauseUntil.Sub(e.clock.Now()); d < 23*time.Hour || d > 24*time.Hour {
			t.Errorf("pause lasts %v", d)
		}
		var pol userPolicy
		e.as("admin", "GET", acme+"/users/"+id+"/policy", nil).json(t, &pol)
		if pol.MFA.Required || !pol.MFA.Paused || pol.MFA.PausedUntil == nil {
			t.Errorf("policy %+v", pol.MFA)
		}
		want(t, e.as("admin", "DELETE", acme+"/users/"+id+"/mfa/pause", nil), http.StatusNoContent)
		u = e.user("comanager")
		if u.MFAPauseNextLogin || !u.MFAPauseUntil.IsZero() || u.MFAPauseReason != "" {
			t.Errorf("pause not ended: %+v", u)
		}
		if got := e.auditActions("acme"); !slices.Equal(got, []string{"mfa.pause_end", "mfa.pause"}) {
			t.Errorf("audit %v", got)
		}
		// An expired pause no longer shows.
		e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "24h"})
		e.clock.Advance(25 * time.Hour)
		var v userView
		e.as("admin", "GET", acme+"/users/"+id, nil).json(t, &v)
		if v.MFA.PausedUntil != nil {
			t.Errorf("expired pause shown: %+v", v.MFA)
		}
	}},

	{"pause refusals", func(t *testing.T, e *env) {
		id := e.users["comanager"].ID
		wantField(t, e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "forever"}), "until")
		wantField(t, e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{}), "until")
		wantField(t, e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "24h", "reason": string(make([]byte, 600))}), "reason")
		want(t, e.as("admin", "POST", acme+"/users/"+id+"/mfa/pause", `{"until":`), http.StatusBadRequest)
		want(t, e.as("tech", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "24h"}), http.StatusForbidden)
		want(t, e.as("comanager", "POST", acme+"/users/"+id+"/mfa/pause", map[string]any{"until": "24h"}), http.StatusForbidden)
		want(t, e.as("admin", "POST", acme+"/users/"+e.users["superadmin"].ID+"/mfa/pause", map[string]any{"until": "24h"}), http.StatusForbidden)
		want(t, e.as("admin", "DELETE", acme+"/users/"+e.users["owner"].ID+"/mfa/pause", nil), http.StatusForbidden)
		if u := e.user("comanager"); u.MFAPauseNextLogin || !u.MFAPauseUntil.IsZero() {
			t.Error("a refused pause was stored")
		}
		if len(e.notices.notices) != 0 || len(e.auditActions("acme")) != 0 {
			t.Error("a refused pause was noticed or audited")
		}
	}},

	{"reset factors", func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.users["comanager"].ID
		for i, k := range []storage.FactorKind{storage.FactorTOTP, storage.FactorWebAuthn, storage.FactorRecovery} {
			if err := e.store.CreateFactor(ctx, storage.Factor{ID: "f" + string(rune('0'+i)), UserID: id, Kind: k, Secret: []byte("s")}); err != nil {
				t.Fatal(err)
			}
		}
		var v userView
		e.as("admin", "GET", acme+"/users/"+id, nil).json(t, &v)
		if !slices.Equal(v.MFA.Factors, []string{"totp", "webauthn", "recovery"}) {
			t.Errorf("factors %v", v.MFA.Factors)
		}
		want(t, e.as("tech", "DELETE", acme+"/users/"+id+"/mfa", nil), http.StatusForbidden)
		r := e.as("admin", "DELETE", acme+"/users/"+id+"/mfa", nil)
		want(t, r, http.StatusOK)
		if r.m(t)["removed"] != float64(3) {
			t.Errorf("reset %s", r.body)
		}
		if fs, _ := e.store.ListFactors(ctx, id); len(fs) != 0 {
			t.Errorf("%d factors left", len(fs))
		}
		var pol userPolicy
		e.as("admin", "GET", acme+"/users/"+id+"/policy", nil).json(t, &pol)
		if !pol.MFA.Required || !pol.MFA.MustEnrol {
			t.Errorf("after reset: %+v", pol.MFA)
		}
		events, _, _ := e.store.ListAudit(ctx, "acme", storage.Page{})
		if events[0].Action != "mfa.reset" || events[0].Details["removed"] != float64(3) {
			t.Errorf("audit %+v", events[0])
		}
	}},

	{"notifications", func(t *testing.T, e *env) {
		id := e.users["finance"].ID
		r := e.as("business", "PUT", acme+"/users/"+id+"/notifications", map[string]any{"invoice": true, "frequency": "monthly"})
		want(t, r, http.StatusOK)
		if n := e.user("finance").Notifications; !n.Invoice || n.Error || n.Frequency != "monthly" {
			t.Errorf("stored %+v", n)
		}
		wantField(t, e.as("business", "PUT", acme+"/users/"+id+"/notifications", map[string]any{"error": true, "frequency": "daily"}), "error")
		wantField(t, e.as("business", "PUT", acme+"/users/"+id+"/notifications", map[string]any{"general": true, "frequency": "daily"}), "general")
		wantField(t, e.as("business", "PUT", acme+"/users/"+id+"/notifications", map[string]any{"invoice": true, "frequency": "hourly"}), "frequency")
		wantField(t, e.as("business", "PUT", acme+"/users/"+id+"/notifications", map[string]any{"invoice": true}), "frequency")
		wantField(t, e.as("business", "PUT", acme+"/users/"+id+"/notifications", map[string]any{"sms": true, "frequency": "daily"}), "sms")
		// Support receives errors only; the owner error and general.
		want(t, e.as("admin", "PUT", acme+"/users/"+e.users["support"].ID+"/notifications", map[string]any{"error": true, "frequency": "immediately"}), http.StatusOK)
		wantField(t, e.as("admin", "PUT", acme+"/users/"+e.users["support"].ID+"/notifications", map[string]any{"invoice": true, "frequency": "immediately"}), "invoice")
		// One's own preferences; not a superior's.
		want(t, e.as("admin", "PUT", acme+"/users/"+e.users["admin"].ID+"/notifications", map[string]any{"invoice": true, "error": true, "general": true, "frequency": "weekly"}), http.StatusOK)
		want(t, e.as("admin", "PUT", acme+"/users/"+e.users["owner"].ID+"/notifications", map[string]any{"error": true, "frequency": "weekly"}), http.StatusForbidden)
		r = e.as("admin", "GET", acme+"/users/"+e.users["admin"].ID+"/notifications", nil)
		want(t, r, http.StatusOK)
		if m := r.m(t); m["invoice"] != true || m["frequency"] != "weekly" {
			t.Errorf("GET %s", r.body)
		}
		if got := e.auditActions("acme"); !slices.Equal(got, []string{"notifications.update", "notifications.update", "notifications.update"}) {
			t.Errorf("audit %v", got)
		}
	}},

	{"policy", func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.store.CreateClient(ctx, storage.Client{ID: "academy", Name: "Academy"}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.CreateClient(ctx, storage.Client{ID: "billing", Name: "Billing", AllowedRoles: []string{"finance", "owner"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.CreateServiceProvider(ctx, storage.ServiceProvider{EntityID: "https://kb.example/saml", Name: "Knowledge Base",
			AllowedRoles: []string{"co_managing", "admin"}}); err != nil {
			t.Fatal(err)
		}
		var p userPolicy
		r := e.as("admin", "GET", acme+"/users/"+e.users["comanager"].ID+"/policy", nil)
		want(t, r, http.StatusOK)
		r.json(t, &p)
		if p.SSO.Required || !p.PasswordReset.Allowed || !p.MFA.Required || !slices.Equal(p.MFA.Reasons, []string{policy.ReasonKindCoManaging}) ||
			!p.MFA.MustEnrol || p.Locked.Locked || p.MFA.Reason == "" {
			t.Errorf("co-managing policy %s", r.body)
		}
		var ids []string
		for _, s := range p.Services {
			ids = append(ids, s.ID)
		}
		if !slices.Equal(ids, []string{"academy", "https://kb.example/saml"}) {
			t.Errorf("services %v", ids)
		}
		// Partner require_mfa, a connection and sso, a lockout for good.
		if _, err := e.store.UpdatePartner(ctx, "acme", func(p storage.Partner) (storage.Partner, error) { p.RequireMFA = true; return p, nil }); err != nil {
			t.Fatal(err)
		}
		want(t, e.as("owner", "POST", acme+"/connections", map[string]any{"id": "acme-entra", "type": "oidc",
			"issuer": "https://login.example.com/t/v2.0", "client_id": "gh", "client_secret": "s3cret"}), http.StatusCreated)
		want(t, e.as("admin", "PATCH", acme+"/users/"+e.users["tech"].ID, map[string]any{"sso": true}), http.StatusOK)
		e.as("admin", "GET", acme+"/users/"+e.users["tech"].ID+"/policy", nil).json(t, &p)
		if !p.SSO.Required || p.SSO.Connection == nil || p.SSO.Connection.ID != "acme-entra" || p.PasswordReset.Allowed ||
			p.MFA.Required || !slices.Equal(p.MFA.Reasons, []string{policy.ReasonPartner}) {
			t.Errorf("sso policy %+v", p)
		}
		if _, err := e.store.UpdateUser(ctx, e.users["finance"].ID, func(u storage.User) (storage.User, error) {
			u.LockedUntil = lockedForever.AddDate(1, 0, 0)
			u.PasswordResetDisabled = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		e.as("admin", "GET", acme+"/users/"+e.users["finance"].ID+"/policy", nil).json(t, &p)
		if !p.Locked.Locked || p.Locked.Until != nil || p.PasswordReset.Allowed || !p.MFA.Required ||
			!slices.Equal(p.MFA.Reasons, []string{policy.ReasonPartner}) {
			t.Errorf("locked policy %+v", p)
		}
		ids = nil
		for _, s := range p.Services {
			ids = append(ids, s.ID)
		}
		if !slices.Equal(ids, []string{"academy", "billing"}) {
			t.Errorf("finance services %v", ids)
		}
		want(t, e.as("tech", "GET", acme+"/users/"+e.users["tech"].ID+"/policy", nil), http.StatusForbidden)
	}},
}
