package mfa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"gatehouse/storage"
)

// SMS codes: six digits, valid five minutes, at most three sent per user
// in ten minutes. Text messages can be intercepted and numbers hijacked,
// so TOTP and passkeys are the recommended factors; SMS is there because
// some users have nothing else.
const (
	smsCodeTTL   = 5 * time.Minute
	smsMaxSends  = 3
	smsSendRange = 10 * time.Minute
	smsTimeout   = 10 * time.Second
)

// e164 is an international number as E.164 writes it: a plus, a country
// code that does not start with 0, at most fifteen digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// normalizePhone accepts a number typed with spaces, dots, dashes or
// brackets and returns its E.164 form, or false.
func normalizePhone(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '(', ')':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	return s, e164.MatchString(s)
}

// maskPhone shows enough of a number to recognise it.
func maskPhone(p string) string {
	if len(p) < 7 {
		return p
	}
	return p[:2] + strings.Repeat("•", len(p)-6) + p[len(p)-4:]
}

// smsSender posts codes to the configured gateway.
type smsSender struct {
	url    string
	client *http.Client
}

// smsMessage is the JSON body the gateway receives.
type smsMessage struct {
	To      string `json:"to"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

var errSMSLimit = errors.New("mfa: too many text messages")

func (s *smsSender) send(ctx context.Context, to, code string) error {
	body, _ := json.Marshal(smsMessage{
		To:      to,
		Code:    code,
		Message: "Your Gatehouse code is " + code + ". It expires in 5 minutes. Do not share it.",
	})
	ctx, cancel := context.WithTimeout(ctx, smsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("mfa: SMS gateway: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("mfa: SMS gateway answered %s", res.Status)
	}
	return nil
}

// newSMSCode returns six uniformly random digits.
func newSMSCode(r io.Reader) (string, error) {
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		// Reject the top sliver so that every code is equally likely.
		n := binary.BigEndian.Uint32(b[:])
		if n < 4_294_000_000 {
			return fmt.Sprintf("%06d", n%1_000_000), nil
		}
	}
}

func smsCodeKey(scope string) string  { return "mfa-sms:" + scope }
func smsRateKey(userID string) string { return "mfa-sms-rate:" + userID }

// smsPending is a code sent and not yet used.
type smsPending struct {
	Phone string `json:"phone"`
	Hash  []byte `json:"hash"`
}

func hashSMS(code string) []byte {
	sum := sha256.Sum256([]byte("gatehouse sms code\x00" + code))
	return sum[:]
}

// sendCode texts a new code to phone for userID and remembers it under
// scope (the user at sign-in, the session at enrolment); a new code
// replaces the last. errSMSLimit past the rate limit.
func (m *MFA) sendCode(ctx context.Context, userID, scope, phone string) error {
	n, err := m.eph.Incr(ctx, smsRateKey(userID), smsSendRange)
	if err != nil {
		return err
	}
	if n > smsMaxSends {
		return errSMSLimit
	}
	code, err := newSMSCode(m.rand)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(smsPending{Phone: phone, Hash: hashSMS(code)})
	if err := m.eph.Set(ctx, smsCodeKey(scope), b, smsCodeTTL); err != nil {
		return err
	}
	return m.sms.send(ctx, phone, code)
}

// checkSMSCode compares code with the one sent under scope and consumes
// it on a match; it returns the phone the code went to.
func (m *MFA) checkSMSCode(ctx context.Context, scope, code string) (string, bool, error) {
	if m.sms == nil || len(code) != 6 {
		return "", false, nil
	}
	b, err := m.eph.Get(ctx, smsCodeKey(scope))
	if errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	var p smsPending
	if err := json.Unmarshal(b, &p); err != nil {
		return "", false, nil
	}
	if subtle.ConstantTimeCompare(hashSMS(code), p.Hash) != 1 {
		return "", false, nil
	}
	// Take: of two requests with the same code only one gets it.
	if _, err := m.eph.Take(ctx, smsCodeKey(scope)); errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	return p.Phone, true, nil
}
