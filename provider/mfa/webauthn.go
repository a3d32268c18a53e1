package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"gatehouse/storage"
)

// WebAuthn ceremonies. A ceremony's challenge (the library's SessionData)
// waits in the ephemeral store under a key tied to the flow or the SSO
// session that began it, for challengeTTL, and is taken once: a response
// can be checked against it only one time, so a failed response spends
// the challenge and changes nothing else.

// errWebAuthn is every failed WebAuthn response: the detail goes to the
// log, never to the page.
var errWebAuthn = errors.New("mfa: WebAuthn response not verified")

// Passkey names.
const (
	maxNameLen      = 64
	defaultPasskey  = "Passkey"
	defaultTOTPName = "Authenticator app"
)

// waUser is a user as the WebAuthn library sees them.
type waUser struct {
	id      []byte
	name    string
	display string
	creds   []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.display }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userHandle is the user's WebAuthn user ID: stable, opaque, and not the
// account ID itself, which authenticators would otherwise keep and show.
func userHandle(userID string) []byte {
	sum := sha256.Sum256([]byte("gatehouse webauthn user\x00" + userID))
	return sum[:]
}

// newWAUser builds the library's user from the user's WebAuthn factors,
// skipping (and logging) any that do not decode.
func (m *MFA) newWAUser(u storage.User, factors []storage.Factor) (*waUser, map[string]storage.Factor) {
	wu := &waUser{id: userHandle(u.ID), name: u.Email, display: u.Name}
	if u.Username != "" {
		wu.name = u.Username
	}
	if wu.display == "" {
		wu.display = wu.name
	}
	byID := map[string]storage.Factor{}
	for _, f := range ofKind(factors, storage.FactorWebAuthn) {
		var c webauthn.Credential
		if err := json.Unmarshal(f.Secret, &c); err != nil {
			m.log.Error("mfa: stored WebAuthn credential unreadable", "user", u.ID, "factor", f.ID, "err", err)
			continue
		}
		wu.creds = append(wu.creds, c)
		byID[string(c.ID)] = f
	}
	return wu, byID
}

func ceremonyKey(kind, id string) string { return "webauthn:" + kind + ":" + id }

func (m *MFA) saveCeremony(ctx context.Context, key string, s *webauthn.SessionData) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return m.eph.Set(ctx, key, b, challengeTTL)
}

// takeCeremony returns the ceremony under key once; errWebAuthn when there
// is none (never begun, expired, or already answered, or passkeys are off).
func (m *MFA) takeCeremony(ctx context.Context, key string) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	if m.wa == nil {
		return s, fmt.Errorf("%w: passkeys are off", errWebAuthn)
	}
	b, err := m.eph.Take(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return s, fmt.Errorf("%w: no ceremony waiting", errWebAuthn)
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%w: stored ceremony: %v", errWebAuthn, err)
	}
	return s, nil
}

// beginLogin starts an assertion for the user's credentials and returns
// the options as JSON for navigator.credentials.get; "" when the user has
// no credential.
func (m *MFA) beginLogin(ctx context.Context, key string, u storage.User, factors []storage.Factor) (string, error) {
	if m.wa == nil {
		return "", nil
	}
	wu, _ := m.newWAUser(u, factors)
	if len(wu.creds) == 0 {
		return "", nil
	}
	assertion, session, err := m.wa.BeginLogin(wu)
	if err != nil {
		return "", err
	}
	if err := m.saveCeremony(ctx, key, session); err != nil {
		return "", err
	}
	b, err := json.Marshal(assertion)
	return string(b), err
}

// finishLogin verifies an assertion (the JSON of a PublicKeyCredential)
// and records the new sign counter. It refuses an authenticator whose
// counter went backwards, a sign of a cloned key.
func (m *MFA) finishLogin(ctx context.Context, key string, u storage.User, factors []storage.Factor, response string) (storage.Factor, error) {
	session, err := m.takeCeremony(ctx, key)
	if err != nil {
		return storage.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(response))
	if err != nil {
		return storage.Factor{}, fmt.Errorf("%w: %v", errWebAuthn, describe(err))
	}
	wu, byID := m.newWAUser(u, factors)
	cred, err := m.wa.ValidateLogin(wu, session, parsed)
	if err != nil {
		return storage.Factor{}, fmt.Errorf("%w: %v", errWebAuthn, describe(err))
	}
	if cred.Authenticator.CloneWarning {
		return storage.Factor{}, fmt.Errorf("%w: sign counter did not increase (possible cloned authenticator)", errWebAuthn)
	}
	f, ok := byID[string(cred.ID)]
	if !ok {
		return storage.Factor{}, fmt.Errorf("%w: credential not among the user's", errWebAuthn)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return storage.Factor{}, err
	}
	now := m.now()
	count := cred.Authenticator.SignCount
	updated, err := m.dir.UpdateFactor(ctx, f.ID, func(cur storage.Factor) (storage.Factor, error) {
		// Checked again here, atomically: two assertions racing with the
		// same counter must not both pass.
		if (count != 0 || cur.Counter != 0) && count <= cur.Counter {
			return cur, fmt.Errorf("%w: sign counter %d not above stored %d", errWebAuthn, count, cur.Counter)
		}
		cur.Secret, cur.Counter, cur.LastUsedAt = data, count, now
		return cur, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Factor{}, fmt.Errorf("%w: credential removed meanwhile", errWebAuthn)
	}
	return updated, err
}

// beginRegistration starts a registration and returns the options as JSON
// for navigator.credentials.create (nil when passkeys are off). The user's
// credentials are excluded, so one authenticator is not registered twice.
func (m *MFA) beginRegistration(ctx context.Context, key string, u storage.User, factors []storage.Factor) ([]byte, error) {
	if m.wa == nil {
		return nil, nil
	}
	wu, _ := m.newWAUser(u, factors)
	creation, session, err := m.wa.BeginRegistration(wu,
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return nil, err
	}
	if err := m.saveCeremony(ctx, key, session); err != nil {
		return nil, err
	}
	return json.Marshal(creation)
}

// finishRegistration verifies an attestation and stores the credential as
// a factor named name.
func (m *MFA) finishRegistration(ctx context.Context, key string, u storage.User, factors []storage.Factor, response, name string) (storage.Factor, error) {
	session, err := m.takeCeremony(ctx, key)
	if err != nil {
		return storage.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(response))
	if err != nil {
		return storage.Factor{}, fmt.Errorf("%w: %v", errWebAuthn, describe(err))
	}
	wu, byID := m.newWAUser(u, factors)
	cred, err := m.wa.CreateCredential(wu, session, parsed)
	if err != nil {
		return storage.Factor{}, fmt.Errorf("%w: %v", errWebAuthn, describe(err))
	}
	if _, dup := byID[string(cred.ID)]; dup {
		return storage.Factor{}, fmt.Errorf("%w: credential already registered", errWebAuthn)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return storage.Factor{}, err
	}
	f := storage.Factor{
		ID: newID(), UserID: u.ID, Kind: storage.FactorWebAuthn, Name: name,
		Secret: data, Counter: cred.Authenticator.SignCount, CreatedAt: m.now(),
	}
	if err := m.dir.CreateFactor(ctx, f); err != nil {
		return storage.Factor{}, err
	}
	return f, nil
}

// describe adds the library's developer detail to its error, for the log.
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return pe.Error() + " (" + pe.DevInfo + ")"
	}
	return err.Error()
}

// passkeyName checks a name typed for a passkey; empty gets the default.
func passkeyName(s, def string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNameLen || strings.ContainsAny(s, "\r\n\x00") {
		return "", fmt.Errorf("name: at most %d characters on one line", maxNameLen)
	}
	return s, nil
}
