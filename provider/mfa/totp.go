package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"io"
	"strconv"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"gatehouse/keys"
	"gatehouse/storage"
)

// TOTP parameters (RFC 6238): SHA-1, six digits, 30-second steps, which
// every authenticator app understands, and one step of clock skew either
// way.
const (
	totpPeriod     = 30
	totpSkew       = 1
	totpSecretSize = 20 // bytes: 160 bits, as RFC 4226 recommends
	// totpUsedTTL outlives the window in which a code is accepted
	// (its own step and one either side), so a used code stays refused.
	totpUsedTTL = (2*totpSkew + 2) * totpPeriod * time.Second
)

var totpCodeOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// b32 is the secret's text form: RFC 4648 base32, upper case, no padding,
// which otpauth:// URIs carry and the seed file stores (seed.TOTPFactorName).
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPSecret returns a fresh secret in its text form.
func newTOTPSecret(r io.Reader) (string, error) {
	raw := make([]byte, totpSecretSize)
	if _, err := io.ReadFull(r, raw); err != nil {
		return "", err
	}
	return b32.EncodeToString(raw), nil
}

// matchTOTP returns the time step whose code is code, trying the current
// step first and then one either side. The comparison is constant-time.
func matchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	if len(code) != otp.DigitsSix.Length() {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for _, d := range []int64{0, -1, 1} {
		s := cur + d
		if s < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), totpCodeOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// totpUsedKey marks a user's code of one time step as spent.
func totpUsedKey(userID string, step int64) string {
	return "totp-used:" + userID + ":" + strconv.FormatInt(step, 10)
}

// spendTOTPStep records that the user's code for step was used, and
// reports false if it already was: a code works once in its time step.
func (m *MFA) spendTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	return m.eph.SetNX(ctx, totpUsedKey(userID, step), []byte("1"), totpUsedTTL)
}

// checkTOTP tries code against each of the user's TOTP factors and spends
// its time step. It returns the matching factor, or ok false for a code
// that matches none or was used already.
func (m *MFA) checkTOTP(ctx context.Context, userID string, factors []storage.Factor, code string) (storage.Factor, bool, error) {
	now := m.now()
	for _, f := range ofKind(factors, storage.FactorTOTP) {
		secret, err := openSecret(m.box, f.Secret)
		if err != nil {
			m.log.Error("mfa: TOTP secret does not open", "user", userID, "factor", f.ID, "err", err)
			continue
		}
		step, ok := matchTOTP(secret, code, now)
		if !ok {
			continue
		}
		fresh, err := m.spendTOTPStep(ctx, userID, step)
		if err != nil || !fresh {
			return storage.Factor{}, false, err
		}
		return f, true, nil
	}
	return storage.Factor{}, false, nil
}

// sealSecret encrypts a secret's text form for Factor.Secret.
func sealSecret(box *keys.Box, secret string) ([]byte, error) {
	return box.Seal([]byte(secret))
}

// openSecret decrypts Factor.Secret of a TOTP factor.
func openSecret(box *keys.Box, sealed []byte) (string, error) {
	b, err := box.Open(sealed)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// sealPending and openPending carry a secret waiting for its confirming
// code through the ephemeral store (or a flow's StepData) as text.
func sealPending(box *keys.Box, secret string) (string, error) {
	b, err := sealSecret(box, secret)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func openPending(box *keys.Box, s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	return openSecret(box, b)
}

// totpDisplay is what an enrolment page shows of a secret.
type totpDisplay struct {
	QR     template.URL // data:image/png;base64,...
	URL    template.URL // otpauth://totp/...
	Secret string       // grouped by four for typing
}

// displayTOTP builds the otpauth:// key for secret and its QR code.
func displayTOTP(issuer, account, secret string) (totpDisplay, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return totpDisplay{}, fmt.Errorf("mfa: TOTP secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpPeriod,
		Secret:      raw,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return totpDisplay{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return totpDisplay{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return totpDisplay{}, err
	}
	return totpDisplay{
		// Both are built here from our own values; html/template would
		// otherwise refuse the data: and otpauth: schemes.
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())),
		URL:    template.URL(key.URL()),
		Secret: group(secret, 4),
	}, nil
}

// group splits s into blocks of n separated by spaces.
func group(s string, n int) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if i > 0 && i%n == 0 {
			b = append(b, ' ')
		}
		b = append(b, s[i])
	}
	return string(b)
}
