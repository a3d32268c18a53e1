package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestCanManage(t *testing.T) {
	c := DefaultCatalogue()
	tests := []struct {
		actor, target string
		want          bool
	}{
		{"owner", "super_admin", true},
		{"owner", "owner", false},
		{"super_admin", "admin", true},
		{"super_admin", "super_admin", false},
		{"admin", "super_admin", false},
		{"admin", "business", true},
		{"admin", "client", true},
		{"business", "finance", true},
		{"business", "support", true},
		{"business", "admin", false},
		{"business", "business", false},
		{"finance", "support", false}, // same rank
		{"finance", "tech", true},
		{"tech", "client", false},            // manages nobody
		{"sales_marketing", "client", false}, // manages nobody
		{"co_managing", "client", false},     // manages nobody
		{"client", "client", false},
		{"org_admin", "co_managing", true},
		{"org_admin", "client", true},
		{"nobody", "client", false},
		{"admin", "nobody", false},
	}
	for _, tt := range tests {
		if got := c.CanManage(tt.actor, tt.target); got != tt.want {
			t.Errorf("CanManage(%s, %s) = %v, want %v", tt.actor, tt.target, got, tt.want)
		}
	}
}

func TestManages(t *testing.T) {
	c := DefaultCatalogue()
	for role, want := range map[string]bool{
		"owner": true, "super_admin": true, "admin": true, "business": true, "finance": true,
		"support": true, "org_admin": true, "tech": false, "sales_marketing": false,
		"co_managing": false, "client": false, "unknown": false,
	} {
		if got := c.Manages(role); got != want {
			t.Errorf("Manages(%s) = %v, want %v", role, got, want)
		}
	}
	// The lowest role of a catalogue manages nobody even without the flag.
	low, err := NewCatalogue([]Role{{Name: "owner", Rank: 100}, {Name: "staff", Rank: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if low.Manages("staff") {
		t.Error("the lowest role manages someone")
	}
}

func TestAssignable(t *testing.T) {
	c := DefaultCatalogue()
	names := func(rs []Role) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	if got := names(c.Assignable("owner")); slices.Contains(got, "owner") || !slices.Contains(got, "super_admin") {
		t.Errorf("owner assigns %v", got)
	}
	if got, want := names(c.Assignable("business")), []string{"finance", "support", "tech", "sales_marketing", "org_admin", "co_managing", "client"}; !slices.Equal(got, want) {
		t.Errorf("business assigns %v, want %v", got, want)
	}
	if got := c.Assignable("tech"); len(got) != 0 {
		t.Errorf("tech assigns %v", names(got))
	}
}

func TestNewCatalogueRejects(t *testing.T) {
	for name, roles := range map[string][]Role{
		"no owner":   {{Name: "admin", Rank: 10}},
		"empty name": {{Name: "owner", Rank: 100}, {Name: "", Rank: 1}},
		"duplicate":  {{Name: "owner", Rank: 100}, {Name: "owner", Rank: 1}},
		"zero rank":  {{Name: "owner", Rank: 0}},
	} {
		if _, err := NewCatalogue(roles); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNotifications(t *testing.T) {
	tests := []struct {
		kind, role string
		want       bool
	}{
		{"error", "owner", true}, {"error", "support", true}, {"error", "finance", false},
		{"invoice", "admin", true}, {"invoice", "finance", true}, {"invoice", "owner", false},
		{"general", "super_admin", true}, {"general", "support", false},
		{"unknown", "owner", false},
	}
	for _, tt := range tests {
		if got := MayReceive(tt.kind, tt.role); got != tt.want {
			t.Errorf("MayReceive(%s, %s) = %v", tt.kind, tt.role, got)
		}
	}
	for _, f := range []string{"immediately", "daily", "weekly", "monthly"} {
		if !ValidFrequency(f) {
			t.Errorf("%s refused", f)
		}
	}
	for _, f := range []string{"", "hourly", "Daily"} {
		if ValidFrequency(f) {
			t.Errorf("%q accepted", f)
		}
	}
}

func TestRoleAllowedAndServices(t *testing.T) {
	if !RoleAllowed(nil, "client") || !RoleAllowed([]string{"client"}, "client") || RoleAllowed([]string{"admin"}, "client") {
		t.Error("RoleAllowed")
	}
	services := []Service{
		{Type: "oidc", ID: "academy"},
		{Type: "oidc", ID: "portal", AllowedRoles: []string{"admin", "owner"}},
		{Type: "saml", ID: "https://kb.example", AllowedRoles: []string{"client"}},
	}
	ids := func(ss []Service) []string {
		out := []string{}
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	if got := ids(AccessibleServices("admin", services)); !slices.Equal(got, []string{"academy", "portal"}) {
		t.Errorf("admin opens %v", got)
	}
	if got := ids(AccessibleServices("client", services)); !slices.Equal(got, []string{"academy", "https://kb.example"}) {
		t.Errorf("client opens %v", got)
	}
	if got := AccessibleServices("tech", nil); got == nil || len(got) != 0 {
		t.Errorf("no services: %v", got)
	}
}

func TestIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		what string
		ok   bool
		fn   func(string) bool
		in   string
	}{
		{"email", true, ValidEmail, "olivia@acme.example"},
		{"email", true, ValidEmail, "dev@localhost"},
		{"email", false, ValidEmail, "olivia@acme"},
		{"email", false, ValidEmail, "Olivia <olivia@acme.example>"},
		{"email", false, ValidEmail, " olivia@acme.example"},
		{"email", false, ValidEmail, "@acme.example"},
		{"email", false, ValidEmail, strings.Repeat("a", 250) + "@acme.example"},
		{"domain", true, ValidDomain, "acme.example"},
		{"domain", false, ValidDomain, "-acme.example"},
		{"username", true, ValidUsername, "j.doe_2-x"},
		{"username", false, ValidUsername, "JDoe"},
		{"username", false, ValidUsername, strings.Repeat("a", 33)},
		{"username", false, ValidUsername, ""},
		{"phone", true, ValidPhone, "+15555550100"},
		{"phone", false, ValidPhone, "+12"},
		{"phone", false, ValidPhone, "15555550100"},
		{"phone", false, ValidPhone, "+0555550100"},
	} {
		if got := tc.fn(tc.in); got != tc.ok {
			t.Errorf("%s %q: %v, want %v", tc.what, tc.in, got, tc.ok)
		}
	}
}
