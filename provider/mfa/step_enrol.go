package mfa

import (
	"context"
	"errors"
	"net/http"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

// enrolStep is /login/mfa-enrol: a user who must use a second factor and
// has none (a first sign-in, or after an admin's reset) enrols one here
// before the sign-in goes on. The page shows a new TOTP secret as a QR
// code and an otpauth:// link with one form (input code) to confirm it,
// and offers to register a passkey instead.
//
// Confirming the new factor is this sign-in's second factor: the flow
// gets otp (or hwk) and mfa, as if the user had been asked for it. A wrong
// confirming code is refused but not counted toward the lockout: the
// secret is minutes old and was shown only to this browser, so there is
// nothing to guess. The recovery codes made with the first factor are
// shown once, before the sign-in goes on.
type enrolStep struct{ m *MFA }

func (*enrolStep) Name() string { return "mfa-enrol" }

func (s *enrolStep) Check(ctx context.Context, t *login.Turn) (login.Need, error) {
	v, _, err := s.m.assess(ctx, t)
	if err != nil || v != verdictEnrol {
		return login.Need{}, err
	}
	return login.Need{Page: true}, nil
}

// enrolPage is the data of mfa_enrol.html.
type enrolPage struct {
	TOTP totpDisplay
	// WebAuthn is the creation options JSON for a passkey.
	WebAuthn string
}

// recoveryPage is the data of mfa_recovery.html.
type recoveryPage struct {
	Codes []string
	// Back is where the account page's copy links on; empty at sign-in,
	// where the page's form continues the flow.
	Back string
}

const (
	textBadEnrolCode = "That code does not match. Check the time on your phone and enter the code your app shows now."
	textBadPasskey   = "The passkey could not be registered. Try again, or use an authenticator app."
)

func (s *enrolStep) Serve(w http.ResponseWriter, r *http.Request, t *login.Turn) {
	ctx := r.Context()
	m := s.m
	u, err := t.User(ctx)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	secret, err := s.pending(ctx, t)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	if r.Method != http.MethodPost {
		s.render(w, r, t, u, secret, http.StatusOK, "")
		return
	}
	if !u.Active {
		// Deactivated while signing in.
		t.Fail(w, r, login.ErrAccessDenied, textInactive)
		return
	}
	if u.Locked(m.now()) {
		s.render(w, r, t, u, secret, http.StatusForbidden, textLocked)
		return
	}

	if resp := r.PostFormValue("webauthn"); resp != "" {
		name, err := passkeyName(r.PostFormValue("name"), defaultPasskey)
		if err != nil {
			s.render(w, r, t, u, secret, http.StatusBadRequest, err.Error())
			return
		}
		factors, err := m.dir.ListFactors(ctx, u.ID)
		if err != nil {
			t.Unavailable(w, r, err)
			return
		}
		_, err = m.finishRegistration(ctx, ceremonyKey("flow-reg", t.Flow.ID), u, factors, resp, name)
		if errors.Is(err, errWebAuthn) {
			m.log.Info("mfa: passkey enrolment refused", "user", u.ID, "err", err)
			s.render(w, r, t, u, secret, http.StatusBadRequest, textBadPasskey)
			return
		}
		if err != nil {
			t.Unavailable(w, r, err)
			return
		}
		s.enrolled(w, r, t, u, "hwk")
		return
	}

	code := normalizeCode(r.PostFormValue("code"))
	step, ok := matchTOTP(secret, code, m.now())
	if ok {
		ok, err = m.spendTOTPStep(ctx, u.ID, step)
		if err != nil {
			t.Unavailable(w, r, err)
			return
		}
	}
	if !ok {
		s.render(w, r, t, u, secret, http.StatusBadRequest, textBadEnrolCode)
		return
	}
	sealed, err := sealSecret(m.box, secret)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	if err := m.dir.CreateFactor(ctx, storage.Factor{
		ID: newID(), UserID: u.ID, Kind: storage.FactorTOTP, Name: defaultTOTPName,
		Secret: sealed, CreatedAt: m.now(),
	}); err != nil {
		t.Unavailable(w, r, err)
		return
	}
	s.enrolled(w, r, t, u, "otp")
}

// enrolled finishes an enrolment: the factor counts for this sign-in, and
// a user without recovery codes gets them, shown once.
func (s *enrolStep) enrolled(w http.ResponseWriter, r *http.Request, t *login.Turn, u storage.User, method string) {
	ctx := r.Context()
	m := s.m
	m.log.Info("mfa: factor enrolled at sign-in", "user", u.ID, "method", method)
	codes, err := m.firstRecoveryCodes(ctx, u.ID)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	if len(codes) == 0 {
		m.succeed(w, r, t, method)
		return
	}
	// Record the factor now and show the codes; the page's Continue
	// posts back here, and the flow, having its factor, moves on.
	m.record(ctx, t.Flow, method)
	if err := t.Save(ctx); err != nil {
		t.Unavailable(w, r, err)
		return
	}
	t.Render(w, r, http.StatusOK, s, "mfa_recovery", "", recoveryPage{Codes: codes})
}

// pending returns the flow's TOTP secret waiting to be confirmed, making
// and saving one on first use. It is sealed in the flow, which lives in the
// ephemeral store.
func (s *enrolStep) pending(ctx context.Context, t *login.Turn) (string, error) {
	m := s.m
	if sealed := t.Flow.StepData[pendingKey]; sealed != "" {
		secret, err := openPending(m.box, sealed)
		if err == nil {
			return secret, nil
		}
		m.log.Warn("mfa: pending TOTP secret does not open; making another", "flow", t.Flow.ID, "err", err)
	}
	secret, err := newTOTPSecret(m.rand)
	if err != nil {
		return "", err
	}
	sealed, err := sealPending(m.box, secret)
	if err != nil {
		return "", err
	}
	if t.Flow.StepData == nil {
		t.Flow.StepData = map[string]string{}
	}
	t.Flow.StepData[pendingKey] = sealed
	return secret, t.Save(ctx)
}

func (s *enrolStep) render(w http.ResponseWriter, r *http.Request, t *login.Turn, u storage.User, secret string, status int, errText string) {
	m := s.m
	disp, err := displayTOTP(m.cfg.RPName, accountLabel(u), secret)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	factors, err := m.dir.ListFactors(r.Context(), u.ID)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	opts, err := m.beginRegistration(r.Context(), ceremonyKey("flow-reg", t.Flow.ID), u, factors)
	if err != nil {
		t.Unavailable(w, r, err)
		return
	}
	t.Render(w, r, status, s, "mfa_enrol", errText, enrolPage{TOTP: disp, WebAuthn: string(opts)})
}

// accountLabel is the account name an authenticator app shows.
func accountLabel(u storage.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Username
}
