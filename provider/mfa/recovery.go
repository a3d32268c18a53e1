package mfa

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"strings"

	"gatehouse/storage"
)

// Recovery codes: ten single-use codes of ten characters from Crockford's
// base32 alphabet (50 bits each), shown once as "xxxxx-xxxxx" and stored as
// their SHA-256. They are random enough that a fast hash is enough; a slow
// one would only slow down every code check.
const (
	recoveryCount   = 10
	recoveryLen     = 10
	recoveryAlpha   = "0123456789abcdefghjkmnpqrstvwxyz"
	recoveryName    = "Recovery code"
	recoveryHashTag = "gatehouse recovery code\x00"
)

// newRecoveryCodes returns n fresh codes in their display form.
func newRecoveryCodes(r io.Reader, n int) ([]string, error) {
	codes := make([]string, n)
	buf := make([]byte, recoveryLen)
	for i := range codes {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		var b strings.Builder
		for j, c := range buf {
			if j == recoveryLen/2 {
				b.WriteByte('-')
			}
			// 256 is a multiple of 32, so the low five bits are uniform.
			b.WriteByte(recoveryAlpha[c&31])
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// normalizeCode takes what a user typed (a TOTP, SMS or recovery code)
// to its canonical form: no spaces or dashes, lower case, and the letters
// Crockford's alphabet leaves out read as the digits they look like.
func normalizeCode(s string) string {
	if len(s) > 64 {
		return ""
	}
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c == ' ' || c == '-' || c == '\t':
		case c == 'o':
			b.WriteByte('0')
		case c == 'i' || c == 'l':
			b.WriteByte('1')
		case c < 0x80:
			b.WriteRune(c)
		default:
			return ""
		}
	}
	return b.String()
}

// isRecoveryForm reports whether a normalized code has a recovery code's
// shape.
func isRecoveryForm(code string) bool {
	if len(code) != recoveryLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(recoveryAlpha, rune(code[i])) {
			return false
		}
	}
	return true
}

func hashRecovery(code string) []byte {
	sum := sha256.Sum256([]byte(recoveryHashTag + normalizeCode(code)))
	return sum[:]
}

// useRecoveryCode consumes the user's recovery code matching code.
// DeleteFactor is the arbiter: of two sign-ins presenting one code, the
// one whose delete fails with ErrNotFound lost, and is refused.
func (m *MFA) useRecoveryCode(ctx context.Context, factors []storage.Factor, code string) (bool, error) {
	if !isRecoveryForm(code) {
		return false, nil
	}
	h := hashRecovery(code)
	for _, f := range ofKind(factors, storage.FactorRecovery) {
		if subtle.ConstantTimeCompare(h, f.Secret) != 1 {
			continue
		}
		err := m.dir.DeleteFactor(ctx, f.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	return false, nil
}

// replaceRecoveryCodes deletes the user's recovery codes and stores a new
// set, returning the codes to show once.
func (m *MFA) replaceRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes, err := newRecoveryCodes(m.rand, recoveryCount)
	if err != nil {
		return nil, err
	}
	if _, err := m.dir.DeleteFactors(ctx, userID, storage.FactorRecovery); err != nil {
		return nil, err
	}
	now := m.now()
	for _, c := range codes {
		if err := m.dir.CreateFactor(ctx, storage.Factor{
			ID: newID(), UserID: userID, Kind: storage.FactorRecovery, Name: recoveryName,
			Secret: hashRecovery(c), CreatedAt: now,
		}); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// firstRecoveryCodes gives a user who just enrolled a factor recovery
// codes if they have none, and returns them to show (nil otherwise).
func (m *MFA) firstRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	fs, err := m.dir.ListFactors(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(ofKind(fs, storage.FactorRecovery)) > 0 {
		return nil, nil
	}
	return m.replaceRecoveryCodes(ctx, userID)
}
