package mfa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

// challengeStep is /login/mfa: it asks a user with enrolled factors for
// one of them. The page has one form with input code (a TOTP code, a
// recovery code, or an SMS code when SMS is on) and offers the user's
// passkeys and security keys through the browser's credentials API
// (static/webauthn.js), which posts its answer in the same form.
type challengeStep struct{ m *MFA }

func (*challengeStep) Name() string { return "mfa" }

func (s *challengeStep) Check(ctx context.Context, t *login.Turn) (login.Need, error) {
	v, _, err := s.m.assess(ctx, t)
	if err != nil || v != verdictChallenge {
		return login.Need{}, err
	}
	return login.Need{Page: true}, nil
}

// Page texts. Every refused code gets the same one, whatever was wrong
// with it, so the page says nothing about which factor a guess nearly hit.
const (
	textBadCode   = "That code is not right, or it was already used. Try again."
	textBadKey    = "Your passkey or security key could not be verified. Try again, or enter a code."
	textLocked    = "This account is locked after too many failed sign-ins. Ask your administrator to unlock it."
	textInactive  = "This account is not active."
	textSMSOff    = "Text messages are not available for this account."
	textSMSLimit  = "Too many codes were sent. Wait ten minutes, or use another way to sign in."
	textSMSFailed = "The text message could not be sent. Try again in a moment, or use another way to sign in."
	textSMSSent   = "We sent a code to %s. It is valid for five minutes."
)

// challengePage is the data of mfa_challenge.html.
type challengePage struct {
	// WebAuthn is the assertion options JSON; empty when the user has no
	// passkey or security key.
	WebAuthn    string
	HasTOTP     bool
	HasRecovery bool
	HasSMS      bool
	Notice      string
	Locked      bool
}

func (s *challengeStep) Serve(w http.ResponseWriter, r *http.Request, t *login.Turn) {
	ctx := r.Context()
	m := s.m
	u, err := t.User(ctx)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	if r.Method != http.MethodPost {
		s.render(w, r, t, u, factors, http.StatusOK, "", "")
		return
	}
	if !u.Active {
		// Deactivated while signing in.
		t.Fail(w, r, login.ErrAccessDenied, textInactive)
		return
	}
	if u.Locked(m.now()) {
		s.render(w, r, t, u, factors, http.StatusForbidden, textLocked, "")
		return
	}
	if r.PostFormValue("send_sms") != "" {
		s.sendSMS(w, r, t, u, factors)
		return
	}
	if resp := r.PostFormValue("webauthn"); resp != "" {
		_, err := m.finishLogin(ctx, ceremonyKey("flow-get", t.Flow.ID), u, factors, resp)
		if errors.Is(err, errWebAuthn) {
			// Nothing changed; the challenge is spent and the page
			// offers a new one.
			m.log.Info("mfa: WebAuthn sign-in refused", "user", u.ID, "err", err)
			s.render(w, r, t, u, factors, http.StatusUnauthorized, textBadKey, "")
			return
		}
		if err != nil {
			t.Unavailable(w, r, err)
			return
		}
		m.succeed(w, r, t, "hwk")
		return
	}

	code := normalizeCode(r.PostFormValue("code"))
	ok, err := m.checkCode(ctx, u.ID, factors, code)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	if ok {
		m.succeed(w, r, t, "otp")
		return
	}
	locked, err := m.countFailure(ctx, t)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	if locked {
		s.render(w, r, t, u, factors, http.StatusForbidden, textLocked, "")
		return
	}
	s.render(w, r, t, u, factors, http.StatusUnauthorized, textBadCode, "")
}

// checkCode tries a normalized code as a TOTP code, an SMS code, then a
// recovery code.
func (m *MFA) checkCode(ctx context.Context, userID string, factors []storage.Factor, code string) (bool, error) {
	if code == "" {
		return false, nil
	}
	if allDigits(code) && len(code) == 6 {
		if _, ok, err := m.checkTOTP(ctx, userID, factors, code); ok || err != nil {
			return ok, err
		}
		sms := ofKind(factors, storage.FactorSMS)
		if len(sms) > 0 {
			phone, ok, err := m.checkSMSCode(ctx, "user:"+userID, code)
			if err != nil || !ok {
				return false, err
			}
			// The code must have gone to a number the user still has.
			return slices.ContainsFunc(sms, func(f storage.Factor) bool { return string(f.Secret) == phone }), nil
		}
		return false, nil
	}
	return m.useRecoveryCode(ctx, factors, code)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// countFailure counts a refused code toward the lockout and reports
// whether the account is now locked.
func (m *MFA) countFailure(ctx context.Context, t *login.Turn) (bool, error) {
	if m.cfg.OnFailure == nil {
		return t.CountFailure(ctx)
	}
	if err := m.cfg.OnFailure(ctx, t.Flow.UserID); err != nil {
		return false, err
	}
	u, err := m.dir.GetUser(ctx, t.Flow.UserID)
	if err != nil {
		return false, err
	}
	return u.Locked(m.now()), nil
}

// succeed records a second factor on the flow and moves it on.
func (m *MFA) succeed(w http.ResponseWriter, r *http.Request, t *login.Turn, method string) {
	m.record(r.Context(), t.Flow, method)
	t.Next(w, r)
}

// record adds a second factor to the flow's methods (RFC 8176: otp for a
// TOTP, SMS or recovery code, hwk for WebAuthn, and mfa) and restarts the
// lockout count: the user proved both factors.
func (m *MFA) record(ctx context.Context, f *login.Flow, method string) {
	for _, a := range []string{method, "mfa"} {
		if !slices.Contains(f.AMR, a) {
			f.AMR = append(f.AMR, a)
		}
	}
	f.AuthTime = m.now()
	f.MFAPaused = false
	delete(f.StepData, pendingKey)
	if err := m.eph.Delete(ctx, login.LockoutKey(f.UserID), ceremonyKey("flow-get", f.ID), ceremonyKey("flow-reg", f.ID)); err != nil {
		m.log.Warn("mfa: clearing after a second factor", "user", f.UserID, "err", err)
	}
}

func (s *challengeStep) sendSMS(w http.ResponseWriter, r *http.Request, t *login.Turn, u storage.User, factors []storage.Factor) {
	m := s.m
	sms := ofKind(factors, storage.FactorSMS)
	if m.sms == nil || len(sms) == 0 {
		s.render(w, r, t, u, factors, http.StatusBadRequest, textSMSOff, "")
		return
	}
	phone := string(sms[0].Secret)
	err := m.sendCode(r.Context(), u.ID, "user:"+u.ID, phone)
	switch {
	case errors.Is(err, errSMSLimit):
		w.Header().Set("Retry-After", "600")
		s.render(w, r, t, u, factors, http.StatusTooManyRequests, textSMSLimit, "")
	case errors.Is(err, storage.ErrUnavailable):
		t.Unavailable(w, r, err)
	case err != nil:
		m.log.Error("mfa: sending an SMS code", "user", u.ID, "err", err)
		s.render(w, r, t, u, factors, http.StatusBadGateway, textSMSFailed, "")
	default:
		s.render(w, r, t, u, factors, http.StatusOK, "", fmt.Sprintf(textSMSSent, maskPhone(phone)))
	}
}

func (s *challengeStep) render(w http.ResponseWriter, r *http.Request, t *login.Turn, u storage.User, factors []storage.Factor, status int, errText, notice string) {
	m := s.m
	opts, err := m.beginLogin(r.Context(), ceremonyKey("flow-get", t.Flow.ID), u, factors)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	d := challengePage{
		WebAuthn:    opts,
		HasTOTP:     len(ofKind(factors, storage.FactorTOTP)) > 0,
		HasRecovery: len(ofKind(factors, storage.FactorRecovery)) > 0,
		HasSMS:      m.sms != nil && len(ofKind(factors, storage.FactorSMS)) > 0,
		Notice:      notice,
		Locked:      errText == textLocked,
	}
	t.Render(w, r, status, s, "mfa_challenge", errText, d)
}
