package mfa

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/hotp"

	"gatehouse/keys"
	"gatehouse/storage/ephemeral/ephemeraltest"
	"gatehouse/storage/sql/sqltest"
)

func TestMatchTOTP(t *testing.T) {
	secret := "JBSWY3DPEHPK3PXP" // the seed file's example
	now := time.Unix(1_700_000_015, 0)
	cur := now.Unix() / totpPeriod
	for _, c := range []struct {
		offset int64
		ok     bool
	}{{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}} {
		code, err := hotp.GenerateCodeCustom(secret, uint64(cur+c.offset), totpCodeOpts)
		if err != nil {
			t.Fatal(err)
		}
		step, ok := matchTOTP(secret, code, now)
		if ok != c.ok || (ok && step != cur+c.offset) {
			t.Errorf("offset %d: step %d ok %v", c.offset, step, ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchTOTP(secret, bad, now); ok {
			t.Errorf("%q matched", bad)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"123 456":               "123456",
		" 123-456 ":             "123456",
		"ABCDE-FGHJK":           "abcdefghjk",
		"o1l1i":                 "01111",
		"abcde\tfghjk":          "abcdefghjk",
		"12345é":                "",
		strings.Repeat("1", 65): "",
	} {
		if got := normalizeCode(in); got != want {
			t.Errorf("normalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := newRecoveryCodes(rand.Reader, recoveryCount)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || !isRecoveryForm(normalizeCode(c)) || seen[c] {
			t.Errorf("code %q", c)
		}
		seen[c] = true
		if !bytes.Equal(hashRecovery(c), hashRecovery(strings.ToUpper(strings.ReplaceAll(c, "-", " ")))) {
			t.Errorf("%q hashes differently when typed loosely", c)
		}
	}
	for _, bad := range []string{"123456", "abcdefghju", "abcdefghj", "abcdefghjkm"} {
		if isRecoveryForm(bad) {
			t.Errorf("%q taken for a recovery code", bad)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+15555550100":      "+15555550100",
		"+1 (555) 555-0100": "+15555550100",
		"+44 20 7946 0958":  "+442079460958",
		"+49.30.1234567":    "+49301234567",
		"5555550100":        "",
		"+05555550100":      "",
		"+1555":             "",
		"+1234567890123456": "",
		"+1555555010a":      "",
		"":                  "",
	} {
		got, ok := normalizePhone(in)
		if (want == "") == ok || (ok && got != want) {
			t.Errorf("normalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got := maskPhone("+15555550100"); got != "+1••••••0100" {
		t.Errorf("maskPhone = %q", got)
	}
}

func TestSMSCodeDigits(t *testing.T) {
	// The first word is rejected (above the uniform range), the second used.
	r := bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0x30, 0x39})
	code, err := newSMSCode(r)
	if err != nil || code != "012345" {
		t.Fatalf("newSMSCode = %q, %v", code, err)
	}
}

func TestPasskeyName(t *testing.T) {
	if n, err := passkeyName("  ", "Passkey"); n != "Passkey" || err != nil {
		t.Errorf("blank: %q %v", n, err)
	}
	if n, err := passkeyName(" YubiKey 5 ", "Passkey"); n != "YubiKey 5" || err != nil {
		t.Errorf("trimmed: %q %v", n, err)
	}
	for _, bad := range []string{strings.Repeat("x", 65), "two\nlines", "bad\xffutf8"} {
		if _, err := passkeyName(bad, "Passkey"); err == nil || !strings.HasPrefix(err.Error(), "name:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	_, err := New(Config{Issuer: "not a url", UserVerification: "always", SMSWebhook: "ftp://x"})
	for _, want := range []string{"Directory", "Ephemeral", "Box", "CurrentUser", "Issuer", "UserVerification", "SMSWebhook"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	box, _ := keys.NewBox(make([]byte, 32))
	m, err := New(Config{
		Issuer: "https://id.example.com:8443/", Directory: sqltest.SQLite(t), Ephemeral: ephemeraltest.Memory(t), Box: box,
		CurrentUser: func(*http.Request) (string, string, bool) { return "", "", false },
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.cfg.RPID != "id.example.com" || len(m.cfg.RPOrigins) != 1 || m.cfg.RPOrigins[0] != "https://id.example.com:8443" || m.SMSEnabled() {
		t.Fatalf("derived %q %v sms %v", m.cfg.RPID, m.cfg.RPOrigins, m.SMSEnabled())
	}
	if !m.PasskeysEnabled() {
		t.Fatal("passkeys off for a host name")
	}
	// An address cannot be a WebAuthn relying party: passkeys are off,
	// unless the address was asked for explicitly.
	ip, err := New(Config{Issuer: "http://127.0.0.1:8080", Directory: m.dir, Ephemeral: m.eph, Box: box, CurrentUser: m.cfg.CurrentUser})
	if err != nil || ip.PasskeysEnabled() {
		t.Fatalf("issuer on an address: %v, passkeys %v", err, err == nil && ip.PasskeysEnabled())
	}
	if _, err := New(Config{Issuer: "http://127.0.0.1:8080", RPID: "127.0.0.1", Directory: m.dir, Ephemeral: m.eph, Box: box, CurrentUser: m.cfg.CurrentUser}); err == nil || !strings.Contains(err.Error(), "RPID") {
		t.Fatalf("explicit address as RPID: %v", err)
	}
	if steps := m.Steps(); len(steps) != 2 || steps[0].Name() != "mfa-enrol" || steps[1].Name() != "mfa" {
		t.Fatalf("steps %v", steps)
	}
}
