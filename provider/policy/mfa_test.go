package policy

import (
	"slices"
	"testing"
	"time"
)

func TestMFARequirement(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	tests := []struct {
		name string
		in   MFAInput
		want MFADecision
	}{
		{"employee, nothing asks", MFAInput{Kind: "employee", Role: "admin", EnrolledFactors: 1},
			MFADecision{}},
		{"employee with a factor but none asked", MFAInput{Kind: "employee", Role: "tech"},
			MFADecision{}},
		{"co-managing kind", MFAInput{Kind: "co_managing", Role: "co_managing", EnrolledFactors: 1},
			MFADecision{Required: true, Reasons: []string{ReasonKindCoManaging}}},
		{"co-managing role on another kind", MFAInput{Kind: "org_user", Role: "co_managing", EnrolledFactors: 1},
			MFADecision{Required: true, Reasons: []string{ReasonRoleCoManaging}}},
		{"co-managing without factor must enrol", MFAInput{Kind: "co_managing", Role: "co_managing"},
			MFADecision{Required: true, Reasons: []string{ReasonKindCoManaging}, MustEnrol: true}},
		{"partner require_mfa", MFAInput{Kind: "employee", Role: "admin", PartnerRequiresMFA: true, EnrolledFactors: 2},
			MFADecision{Required: true, Reasons: []string{ReasonPartner}}},
		{"relying party", MFAInput{Kind: "client", Role: "client", RPRequiresMFA: true},
			MFADecision{Required: true, Reasons: []string{ReasonRelyingParty}, MustEnrol: true}},
		{"every reason", MFAInput{Kind: "co_managing", PartnerRequiresMFA: true, RPRequiresMFA: true, EnrolledFactors: 1},
			MFADecision{Required: true, Reasons: []string{ReasonKindCoManaging, ReasonPartner, ReasonRelyingParty}}},
		{"next-login pause skips kind", MFAInput{Kind: "co_managing", PauseNextLogin: true, Now: now},
			MFADecision{Reasons: []string{ReasonKindCoManaging}, Paused: true, PauseConsumed: true}},
		{"timed pause skips kind", MFAInput{Kind: "co_managing", PauseUntil: later, Now: now},
			MFADecision{Reasons: []string{ReasonKindCoManaging}, Paused: true}},
		{"timed pause skips partner", MFAInput{Kind: "employee", PartnerRequiresMFA: true, PauseUntil: later, Now: now, EnrolledFactors: 1},
			MFADecision{Reasons: []string{ReasonPartner}, Paused: true}},
		{"expired timed pause", MFAInput{Kind: "co_managing", PauseUntil: earlier, Now: now, EnrolledFactors: 1},
			MFADecision{Required: true, Reasons: []string{ReasonKindCoManaging}}},
		{"pause ends exactly at now", MFAInput{Kind: "co_managing", PauseUntil: now, Now: now, EnrolledFactors: 1},
			MFADecision{Required: true, Reasons: []string{ReasonKindCoManaging}}},
		{"timed pause preferred over next login", MFAInput{Kind: "co_managing", PauseNextLogin: true, PauseUntil: later, Now: now},
			MFADecision{Reasons: []string{ReasonKindCoManaging}, Paused: true}},
		{"expired timed pause falls back to next login", MFAInput{Kind: "co_managing", PauseNextLogin: true, PauseUntil: earlier, Now: now},
			MFADecision{Reasons: []string{ReasonKindCoManaging}, Paused: true, PauseConsumed: true}},
		{"pause never skips the relying party", MFAInput{Kind: "co_managing", RPRequiresMFA: true, PauseNextLogin: true, PauseUntil: later, Now: now, EnrolledFactors: 1},
			MFADecision{Required: true, Reasons: []string{ReasonKindCoManaging, ReasonRelyingParty}}},
		{"pause on a relying-party-only requirement", MFAInput{Kind: "employee", RPRequiresMFA: true, PauseNextLogin: true, Now: now},
			MFADecision{Required: true, Reasons: []string{ReasonRelyingParty}, MustEnrol: true}},
		{"pause with nothing to skip is kept", MFAInput{Kind: "employee", PauseNextLogin: true, Now: now},
			MFADecision{}},
		{"federated needs none", MFAInput{Kind: "co_managing", PartnerRequiresMFA: true, Federated: true},
			MFADecision{Reasons: []string{ReasonKindCoManaging, ReasonPartner}}},
		{"federated needs none even for the relying party", MFAInput{Kind: "employee", RPRequiresMFA: true, Federated: true},
			MFADecision{Reasons: []string{ReasonRelyingParty}}},
		{"federated does not consume a pause", MFAInput{Kind: "co_managing", Federated: true, PauseNextLogin: true, Now: now},
			MFADecision{Reasons: []string{ReasonKindCoManaging}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MFARequirement(tt.in)
			if got.Required != tt.want.Required || got.Paused != tt.want.Paused ||
				got.PauseConsumed != tt.want.PauseConsumed || got.MustEnrol != tt.want.MustEnrol ||
				!slices.Equal(got.Reasons, tt.want.Reasons) {
				t.Errorf("MFARequirement(%+v)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanRemoveFactor(t *testing.T) {
	tests := []struct {
		kind      string
		partner   bool
		remaining int
		want      bool
	}{
		{"employee", false, 0, true},
		{"employee", true, 0, false},
		{"employee", true, 1, true},
		{"co_managing", false, 0, false},
		{"co_managing", false, 1, true},
		{"client", false, 0, true},
	}
	for _, tt := range tests {
		if got := CanRemoveFactor(tt.kind, tt.partner, tt.remaining); got != tt.want {
			t.Errorf("CanRemoveFactor(%s, %v, %d) = %v", tt.kind, tt.partner, tt.remaining, got)
		}
	}
}

func TestPauseActive(t *testing.T) {
	now := time.Now()
	if PauseActive(false, time.Time{}, now) || PauseActive(false, now, now) {
		t.Error("no pause reported active")
	}
	if !PauseActive(true, time.Time{}, now) || !PauseActive(false, now.Add(time.Minute), now) {
		t.Error("pause not reported active")
	}
}
