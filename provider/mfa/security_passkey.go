package mfa

import (
	"errors"
	"net/http"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// Registering a passkey or security key from the account page takes two
// requests. POST /account/security/webauthn/options (form field
// csrf_token) answers the creation options as JSON, which
// static/webauthn.js hands to navigator.credentials.create; the script
// then puts the new credential, as JSON, in the registration form's
// webauthn input and submits it, with the name the user typed, to POST
// /account/security/webauthn.

func (m *MFA) passkeyOptions(w http.ResponseWriter, r *http.Request) {
	if m.wa == nil {
		web.WriteError(w, &web.APIError{Status: http.StatusNotFound, Code: "not_available", Description: "passkeys are not available on this server"})
		return
	}
	uid, sid, ok := m.cfg.CurrentUser(r)
	if !ok {
		web.WriteError(w, &web.APIError{Status: http.StatusUnauthorized, Code: "login_required", Description: "sign in first"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !web.CheckCSRF(r) {
		web.WriteError(w, &web.APIError{Status: http.StatusForbidden, Code: "csrf", Description: "csrf_token is missing or wrong; reload the page"})
		return
	}
	ctx := r.Context()
	u, err := m.dir.GetUser(ctx, uid)
	if err != nil || !u.Active {
		web.WriteError(w, &web.APIError{Status: http.StatusUnauthorized, Code: "login_required", Description: "sign in first"})
		return
	}
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err == nil {
		var opts []byte
		if opts, err = m.beginRegistration(ctx, ceremonyKey("account-reg", sid), u, factors); err == nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(opts)
			return
		}
	}
	status := http.StatusInternalServerError
	if errors.Is(err, storage.ErrUnavailable) {
		status = http.StatusServiceUnavailable
	}
	m.log.Error("mfa: passkey options", "user", uid, "err", err)
	web.WriteError(w, &web.APIError{Status: status, Code: "server_error", Description: "try again in a moment"})
}

func (m *MFA) registerPasskey(w http.ResponseWriter, r *http.Request) {
	u, sid, ok := m.current(w, r)
	if !ok || !m.form(w, r) {
		return
	}
	ctx := r.Context()
	name, err := passkeyName(r.PostFormValue("name"), defaultPasskey)
	if err != nil {
		m.renderSecurity(w, r, u, http.StatusBadRequest, err.Error(), "")
		return
	}
	resp := r.PostFormValue("webauthn")
	if resp == "" {
		m.renderSecurity(w, r, u, http.StatusBadRequest, "webauthn: registering a passkey needs JavaScript and a browser that supports passkeys.", "")
		return
	}
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	if _, err := m.finishRegistration(ctx, ceremonyKey("account-reg", sid), u, factors, resp, name); err != nil {
		if errors.Is(err, errWebAuthn) {
			m.log.Info("mfa: passkey registration refused", "user", u.ID, "err", err)
			m.renderSecurity(w, r, u, http.StatusBadRequest, textBadPasskey, "")
			return
		}
		m.serverError(w, r, err)
		return
	}
	m.log.Info("mfa: passkey registered", "user", u.ID)
	m.added(w, r, u, "passkey")
}
