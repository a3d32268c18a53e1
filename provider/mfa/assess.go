package mfa

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"gatehouse/provider/login"
	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// verdict is what a flow needs from the second-factor steps now.
type verdict int

const (
	verdictNone      verdict = iota // nothing (more) to do
	verdictEnrol                    // a factor is required and none is enrolled
	verdictChallenge                // ask for one of the enrolled factors
)

// StepData keys and their values. A flow whose state is stateNone or
// statePaused needs nothing more from these steps, so later moves of the
// flow skip the directory.
const (
	stateKey    = "mfa.state"
	stateNone   = "none"
	statePaused = "paused"
	pendingKey  = "mfa.totp" // the enrolment's sealed TOTP secret, base64url
)

// Values of a sign-in's marker (signinKey).
const (
	signinNoFactor  = "ok"   // needed no factor: cached briefly
	signinPausedOne = "next" // used a next-login pause: for the session's life
)

// signinKey marks what one sign-in (a user at an auth_time) decided about
// second factors, for the flows that later reuse its SSO session: a flow
// from a session carries the sign-in's AuthTime (and the session's ID).
func signinKey(userID string, authTime time.Time) string {
	return "mfa-signin:" + userID + ":" + strconv.FormatInt(authTime.UnixNano(), 10)
}

// errPauseGone aborts consuming a next-login pause that another sign-in
// consumed first.
var errPauseGone = errors.New("mfa: pause already used")

// assess decides what the flow needs. The decision is policy's
// (policy.MFARequirement); what assess adds is Gatehouse's handling of it:
//
//   - a flow that nobody authenticated yet, or that already has a second
//     factor or came through the partner's connection, needs nothing (the
//     last is policy's Federated rule, tested here before any read);
//   - a pause that set the requirement aside is recorded on the flow
//     (MFAPaused), and a next-login pause is consumed at once, by the
//     sign-in that used it; the SSO session that sign-in starts stays
//     paused for its life, but a fresh sign-in is asked again;
//   - a user whom policy does not require a factor of, but who enrolled
//     one, is asked for it all the same (as Keycloak does once OTP is
//     configured), unless an admin paused their factor.
func (m *MFA) assess(ctx context.Context, t *login.Turn) (verdict, []storage.Factor, error) {
	f := t.Flow
	if len(f.AMR) == 0 || slices.Contains(f.AMR, "mfa") || slices.Contains(f.AMR, "fed") {
		return verdictNone, nil, nil
	}
	if s := f.StepData[stateKey]; s == stateNone || s == statePaused {
		return verdictNone, nil, nil
	}
	if !f.RequireMFA && f.SessionID != "" && !f.AuthTime.IsZero() {
		// A flow reusing an SSO session: what did its sign-in decide? Only
		// such flows read the mark, so a fresh sign-in is always assessed,
		// even one at the same instant as another.
		b, err := m.eph.Get(ctx, signinKey(f.UserID, f.AuthTime))
		switch {
		case err == nil && string(b) == signinPausedOne:
			f.MFAPaused = true
			setState(f, statePaused)
			return verdictNone, nil, nil
		case err == nil && string(b) == signinNoFactor:
			setState(f, stateNone)
			return verdictNone, nil, nil
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return 0, nil, err
		}
	}

	u, err := t.User(ctx)
	if err != nil {
		return 0, nil, err
	}
	partnerRequires, err := m.partnerRequiresMFA(ctx, u.PartnerID)
	if err != nil {
		return 0, nil, err
	}
	factors, err := m.dir.ListFactors(ctx, u.ID)
	if err != nil {
		return 0, nil, err
	}
	now := m.now()
	in := policy.MFAInput{
		Kind:               string(u.Kind),
		Role:               u.Role,
		PartnerRequiresMFA: partnerRequires,
		RPRequiresMFA:      f.RequireMFA,
		PauseNextLogin:     u.MFAPauseNextLogin,
		PauseUntil:         u.MFAPauseUntil,
		Now:                now,
		EnrolledFactors:    usable(factors),
	}
	d := policy.MFARequirement(in)
	optionalPaused := false
	if !d.Required && !d.Paused && in.EnrolledFactors > 0 {
		// Not required, but enrolled: asked, unless paused.
		if !policy.PauseActive(u.MFAPauseNextLogin, u.MFAPauseUntil, now) {
			return verdictChallenge, factors, nil
		}
		optionalPaused = true
		d.PauseConsumed = !u.MFAPauseUntil.After(now)
	}
	switch {
	case d.Required && d.MustEnrol:
		return verdictEnrol, factors, nil
	case d.Required:
		return verdictChallenge, factors, nil
	case d.Paused || optionalPaused:
		if d.PauseConsumed {
			if err := m.consumePause(ctx, u.ID); errors.Is(err, errPauseGone) {
				// Another sign-in used the pause first: decide again
				// without it.
				return m.reassessWithoutPause(ctx, t, in, factors)
			} else if err != nil {
				return 0, nil, err
			}
			if err := m.mark(ctx, f, signinPausedOne, m.cfg.SessionTTL); err != nil {
				return 0, nil, err
			}
		}
		f.MFAPaused = true
		setState(f, statePaused)
		return verdictNone, nil, nil
	}
	if err := m.mark(ctx, f, signinNoFactor, decisionCacheTTL); err != nil {
		return 0, nil, err
	}
	setState(f, stateNone)
	return verdictNone, nil, nil
}

// reassessWithoutPause decides for a user whose next-login pause a
// concurrent sign-in consumed.
func (m *MFA) reassessWithoutPause(ctx context.Context, t *login.Turn, in policy.MFAInput, factors []storage.Factor) (verdict, []storage.Factor, error) {
	in.PauseNextLogin = false
	d := policy.MFARequirement(in)
	optionalPaused := !d.Required && in.EnrolledFactors > 0 && policy.PauseActive(false, in.PauseUntil, in.Now)
	switch {
	case d.Required && d.MustEnrol:
		return verdictEnrol, factors, nil
	case d.Required:
		return verdictChallenge, factors, nil
	case d.Paused || optionalPaused:
		t.Flow.MFAPaused = true
		setState(t.Flow, statePaused)
	case in.EnrolledFactors > 0:
		return verdictChallenge, factors, nil
	default:
		setState(t.Flow, stateNone)
	}
	return verdictNone, nil, nil
}

// consumePause clears the user's next-login pause, once: of two sign-ins
// racing for one pause, the second gets errPauseGone.
func (m *MFA) consumePause(ctx context.Context, userID string) error {
	_, err := m.dir.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
		if !u.MFAPauseNextLogin {
			return u, errPauseGone
		}
		u.MFAPauseNextLogin = false
		if u.MFAPauseUntil.IsZero() {
			u.MFAPauseReason = ""
		}
		return u, nil
	})
	if err == nil {
		m.log.Info("mfa: next-login pause used", "user", userID)
	}
	return err
}

// mark records the sign-in's decision for the flows of its session.
func (m *MFA) mark(ctx context.Context, f *login.Flow, value string, ttl time.Duration) error {
	if f.AuthTime.IsZero() || f.RequireMFA {
		// A flow that asked for a factor says nothing about the others.
		return nil
	}
	return m.eph.Set(ctx, signinKey(f.UserID, f.AuthTime), []byte(value), ttl)
}

func setState(f *login.Flow, s string) {
	if f.StepData == nil {
		f.StepData = map[string]string{}
	}
	f.StepData[stateKey] = s
}

// partnerRequiresMFA reads the partner's require_mfa. A user without a
// partner (none in Gatehouse's model, but the store allows it) has none.
func (m *MFA) partnerRequiresMFA(ctx context.Context, partnerID string) (bool, error) {
	if partnerID == "" {
		return false, nil
	}
	p, err := m.dir.GetPartner(ctx, partnerID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return p.RequireMFA, nil
}
