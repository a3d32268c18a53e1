package mfa

import (
	"errors"
	"net/http"
	"slices"

	"gatehouse/storage"
)

// Adding a phone for text-message codes (only when SMS is on): POST
// /account/security/sms with input phone texts a code to it and shows a
// form with input code; POST /account/security/sms/confirm checks the code
// and adds the phone as a factor. The code waits under the SSO session.

const smsConfirmPath = securityPath + "/sms/confirm"

// smsMaxTries bounds wrong codes per code sent at enrolment; at sign-in
// the lockout bounds them.
const smsMaxTries = 5

const textBadPhone = "phone: enter the number in international format, with its country code, such as +15555550100."

// smsPage is the data of mfa_sms.html.
type smsPage struct {
	Phone string // masked
}

func (m *MFA) startSMS(w http.ResponseWriter, r *http.Request) {
	if m.sms == nil {
		m.message(w, http.StatusNotFound, "Not available", "Text-message codes are not available on this server.")
		return
	}
	u, sid, ok := m.current(w, r)
	if !ok || !m.form(w, r) {
		return
	}
	phone, ok := normalizePhone(r.PostFormValue("phone"))
	if !ok {
		m.renderSecurity(w, r, u, http.StatusBadRequest, textBadPhone, "")
		return
	}
	ctx := r.Context()
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	if slices.ContainsFunc(ofKind(factors, storage.FactorSMS), func(f storage.Factor) bool { return string(f.Secret) == phone }) {
		m.renderSecurity(w, r, u, http.StatusConflict, "phone: this number is already set up.", "")
		return
	}
	err = m.sendCode(ctx, u.ID, "enrol:"+sid, phone)
	switch {
	case errors.Is(err, errSMSLimit):
		w.Header().Set("Retry-After", "600")
		m.renderSecurity(w, r, u, http.StatusTooManyRequests, textSMSLimit, "")
	case errors.Is(err, storage.ErrUnavailable):
		m.serverError(w, r, err)
	case err != nil:
		m.log.Error("mfa: sending an SMS code", "user", u.ID, "err", err)
		m.renderSecurity(w, r, u, http.StatusBadGateway, textSMSFailed, "")
	default:
		m.page(w, r, http.StatusOK, "mfa_sms", smsConfirmPath, "", smsPage{Phone: maskPhone(phone)})
	}
}

func (m *MFA) confirmSMS(w http.ResponseWriter, r *http.Request) {
	if m.sms == nil {
		m.message(w, http.StatusNotFound, "Not available", "Text-message codes are not available on this server.")
		return
	}
	u, sid, ok := m.current(w, r)
	if !ok || !m.form(w, r) {
		return
	}
	ctx := r.Context()
	code := normalizeCode(r.PostFormValue("code"))
	phone, ok, err := m.checkSMSCode(ctx, "enrol:"+sid, code)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	if !ok {
		// A few tries per code: after that the code is dropped and the
		// user asks for another (at most smsMaxSends per ten minutes).
		n, err := m.eph.Incr(ctx, "mfa-sms-tries:"+sid, smsCodeTTL)
		if err != nil {
			m.serverError(w, r, err)
			return
		}
		if n >= smsMaxTries {
			if err := m.eph.Delete(ctx, smsCodeKey("enrol:"+sid), "mfa-sms-tries:"+sid); err != nil {
				m.serverError(w, r, err)
				return
			}
		}
		m.page(w, r, http.StatusBadRequest, "mfa_sms", smsConfirmPath, textBadCode, smsPage{})
		return
	}
	if err := m.dir.CreateFactor(ctx, storage.Factor{
		ID: newID(), UserID: u.ID, Kind: storage.FactorSMS, Name: maskPhone(phone),
		Secret: []byte(phone), CreatedAt: m.now(),
	}); err != nil {
		m.serverError(w, r, err)
		return
	}
	m.log.Info("mfa: phone added for text-message codes", "user", u.ID)
	m.added(w, r, u, "sms")
}
