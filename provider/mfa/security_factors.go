package mfa

import (
	"errors"
	"net/http"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// Removing a factor and renewing recovery codes, from the account page.

const textKeepOne = "Your account must keep a second factor. Add another one before you remove this one."

// removeFactor is POST /account/security/remove with input factor (its
// ID). Policy decides whether the user may go without it
// (policy.CanRemoveFactor); removing the last factor also drops the
// recovery codes, which back up nothing then.
func (m *MFA) removeFactor(w http.ResponseWriter, r *http.Request) {
	u, _, ok := m.current(w, r)
	if !ok || !m.form(w, r) {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("factor")
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	var target *storage.Factor
	for i, f := range factors {
		if f.ID == id && f.UserID == u.ID && f.Kind != storage.FactorRecovery {
			target = &factors[i]
		}
	}
	if target == nil {
		// Someone else's factor looks the same as no factor.
		m.renderSecurity(w, r, u, http.StatusNotFound, "factor: there is no such factor on your account.", "")
		return
	}
	partnerRequires, err := m.partnerRequiresMFA(ctx, u.PartnerID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	remaining := usable(factors) - 1
	if !policy.CanRemoveFactor(string(u.Kind), partnerRequires, remaining) {
		m.renderSecurity(w, r, u, http.StatusConflict, textKeepOne, "")
		return
	}
	if err := m.dir.DeleteFactor(ctx, target.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		m.serverError(w, r, err)
		return
	}
	if remaining == 0 {
		if _, err := m.dir.DeleteFactors(ctx, u.ID, storage.FactorRecovery); err != nil {
			m.serverError(w, r, err)
			return
		}
	}
	m.log.Info("mfa: factor removed by its user", "user", u.ID, "kind", target.Kind, "factor", target.ID)
	http.Redirect(w, r, securityPath+"?done=removed", http.StatusSeeOther)
}

// regenerateRecovery is POST /account/security/recovery: ten new codes
// replace the old ones and are shown once.
func (m *MFA) regenerateRecovery(w http.ResponseWriter, r *http.Request) {
	u, _, ok := m.current(w, r)
	if !ok || !m.form(w, r) {
		return
	}
	ctx := r.Context()
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	if usable(factors) == 0 {
		m.renderSecurity(w, r, u, http.StatusBadRequest, "Set up an authenticator app or a passkey first: recovery codes back one up.", "")
		return
	}
	codes, err := m.replaceRecoveryCodes(ctx, u.ID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	m.log.Info("mfa: recovery codes renewed", "user", u.ID)
	m.showRecovery(w, r, codes, securityPath)
}
