package mfa

import (
	"context"
	"errors"
	"net/http"

	"gatehouse/storage"
)

// /account/security/totp adds an authenticator app: GET shows a new secret
// (QR code and otpauth:// link) and a form with input code; POST confirms
// it. The secret waits, sealed, in the ephemeral store under the SSO
// session for pendingTOTPTTL.

const totpPath = securityPath + "/totp"

func pendingTOTPKey(sessionID string) string { return "mfa-totp-pending:" + sessionID }

// totpPage is the data of mfa_totp.html.
type totpPage struct {
	TOTP totpDisplay
	Name string
}

func (m *MFA) serveAddTOTP(w http.ResponseWriter, r *http.Request) {
	u, sid, ok := m.current(w, r)
	if !ok {
		return
	}
	secret, err := m.accountPending(r.Context(), sid)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	m.renderTOTP(w, r, u, secret, "", http.StatusOK, "")
}

func (m *MFA) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	u, sid, ok := m.current(w, r)
	if !ok || !m.form(w, r) {
		return
	}
	ctx := r.Context()
	name, err := passkeyName(r.PostFormValue("name"), defaultTOTPName)
	if err != nil {
		secret, perr := m.accountPending(ctx, sid)
		if perr != nil {
			m.serverError(w, r, perr)
			return
		}
		m.renderTOTP(w, r, u, secret, "", http.StatusBadRequest, err.Error())
		return
	}
	sealed, err := m.eph.Get(ctx, pendingTOTPKey(sid))
	if errors.Is(err, storage.ErrNotFound) {
		// Expired while the user looked for their phone: start again.
		http.Redirect(w, r, totpPath, http.StatusSeeOther)
		return
	}
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	secret, err := openPending(m.box, string(sealed))
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	step, ok := matchTOTP(secret, normalizeCode(r.PostFormValue("code")), m.now())
	if ok {
		if ok, err = m.spendTOTPStep(ctx, u.ID, step); err != nil {
			m.serverError(w, r, err)
			return
		}
	}
	if !ok {
		m.renderTOTP(w, r, u, secret, name, http.StatusBadRequest, textBadEnrolCode)
		return
	}
	stored, err := sealSecret(m.box, secret)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	if err := m.dir.CreateFactor(ctx, storage.Factor{
		ID: newID(), UserID: u.ID, Kind: storage.FactorTOTP, Name: name, Secret: stored, CreatedAt: m.now(),
	}); err != nil {
		m.serverError(w, r, err)
		return
	}
	if err := m.eph.Delete(ctx, pendingTOTPKey(sid)); err != nil {
		m.log.Warn("mfa: dropping a confirmed TOTP secret", "user", u.ID, "err", err)
	}
	m.log.Info("mfa: authenticator app added", "user", u.ID)
	m.added(w, r, u, "totp")
}

// added ends an addition: the user's first factor comes with recovery
// codes, shown once; otherwise back to the page with a notice.
func (m *MFA) added(w http.ResponseWriter, r *http.Request, u storage.User, what string) {
	codes, err := m.firstRecoveryCodes(r.Context(), u.ID)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	if len(codes) > 0 {
		m.showRecovery(w, r, codes, securityPath+"?done="+what)
		return
	}
	http.Redirect(w, r, securityPath+"?done="+what, http.StatusSeeOther)
}

// accountPending returns the session's secret waiting to be confirmed,
// making one when there is none.
func (m *MFA) accountPending(ctx context.Context, sid string) (string, error) {
	b, err := m.eph.Get(ctx, pendingTOTPKey(sid))
	if err == nil {
		if secret, err := openPending(m.box, string(b)); err == nil {
			return secret, nil
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	secret, err := newTOTPSecret(m.rand)
	if err != nil {
		return "", err
	}
	sealed, err := sealPending(m.box, secret)
	if err != nil {
		return "", err
	}
	return secret, m.eph.Set(ctx, pendingTOTPKey(sid), []byte(sealed), pendingTOTPTTL)
}

func (m *MFA) renderTOTP(w http.ResponseWriter, r *http.Request, u storage.User, secret, name string, status int, errText string) {
	disp, err := displayTOTP(m.cfg.RPName, accountLabel(u), secret)
	if err != nil {
		m.serverError(w, r, err)
		return
	}
	m.page(w, r, status, "mfa_totp", totpPath, errText, totpPage{TOTP: disp, Name: name})
}
