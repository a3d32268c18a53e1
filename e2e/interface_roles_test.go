package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// INTERFACE.md section 6: the role catalogue, and who may manage whom.

var ifCatalogue = []struct {
	role string
	rank int
}{
	{"owner", 100}, {"super_admin", 90}, {"admin", 80}, {"business", 60}, {"finance", 50}, {"support", 50},
	{"tech", 40}, {"sales_marketing", 40}, {"org_admin", 30}, {"co_managing", 20}, {"client", 10},
}

var ifManagesNobody = map[string]bool{"tech": true, "sales_marketing": true, "client": true, "co_managing": true}

// ifRoleUser is the seed entry of a user holding role, of the kind that
// goes with it.
func ifRoleUser(role, email, password, username string) string {
	var kind, extra string
	switch role {
	case "client":
		kind, extra = "client", "    organization: globex\n"
	case "org_admin":
		kind, extra = "org_user", "    organization: globex\n"
	case "co_managing":
		kind, extra = "co_managing", "    organization: globex\n    username: "+username+"\n    totp_secret: "+ifTOTPSecret+"\n"
	default:
		kind = "employee"
	}
	s := "  - email: " + email + "\n    partner: acme\n    kind: " + kind + "\n    role: " + role + "\n    name: " + strings.ReplaceAll(role, "_", " ") + " person\n" + extra
	if password != "" {
		s += "    password: \"" + password + "\"\n"
	}
	return s
}

// ifRoleBody is the API body creating a user with role.
func ifRoleBody(role, email, username string) map[string]any {
	b := map[string]any{"email": email, "role": role, "name": "Made " + role}
	switch role {
	case "client":
		b["kind"], b["organization"] = "client", "globex"
	case "org_admin":
		b["kind"], b["organization"] = "org_user", "globex"
	case "co_managing":
		b["kind"], b["organization"], b["username"] = "co_managing", "globex", username
	default:
		b["kind"] = "employee"
	}
	return b
}

func TestInterfaceRoleRanks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seed := "users:\n"
	for _, r := range ifCatalogue {
		seed += ifRoleUser(r.role, "as-"+strings.ReplaceAll(r.role, "_", "-")+"@acme.example", "rank-"+r.role+"-copper-lamp-71", "as"+strings.ReplaceAll(r.role, "_", ""))
	}
	extra := ifWriteFile(t, dir, "roles.yaml", seed)
	n := ifStart(t, ifNodeOptions{Extra: []string{"--seed", extra}})

	// Every actor tries to create a user of every role: allowed exactly
	// when the actor manages anyone and the role ranks strictly below.
	for ai, actor := range ifCatalogue {
		t.Run(actor.role, func(t *testing.T) {
			t.Parallel()
			email := "as-" + strings.ReplaceAll(actor.role, "_", "-") + "@acme.example"
			r := newRP(t, n.URL, ifConsoleID, ifConsoleSec, ifConsoleRedir, "admin")
			tok := ifCode(t, r, newBrowser(t, n.URL), ifSteps{User: ifRoleLogin(actor.role, email), Pass: "rank-" + actor.role + "-copper-lamp-71", TOTP: ifTOTPSecret})
			api := &ifAPI{t: t, base: n.URL, token: tok.AccessToken}
			for ti, target := range ifCatalogue {
				want := !ifManagesNobody[actor.role] && target.rank < actor.rank
				temail := fmt.Sprintf("made-%d-%d@acme.example", ai, ti)
				ans := api.do("POST", "/api/v1/partners/acme/users", ifRoleBody(target.role, temail, fmt.Sprintf("made%d.%d", ai, ti)))
				switch {
				case want && ans.Status != 201:
					t.Errorf("%s creating a %s: %d %s, want 201", actor.role, target.role, ans.Status, ans.Body)
				case !want && ans.Status != 403:
					t.Errorf("%s creating a %s: %d %s, want 403", actor.role, target.role, ans.Status, ans.Body)
				}
			}
		})
	}
}

// ifRoleLogin is how the seeded user of role signs in.
func ifRoleLogin(role, email string) string {
	if role == "co_managing" {
		return "asco" + "managing@acme.example"
	}
	return email
}
