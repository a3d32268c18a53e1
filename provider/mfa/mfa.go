package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"gatehouse/keys"
	"gatehouse/provider/login"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// Config is what MFA needs. Directory, Ephemeral, Box and CurrentUser are
// required; zero values of the rest take the defaults noted.
type Config struct {
	// Issuer is the public base URL; the WebAuthn relying party ID and
	// origin derive from it unless RPID and RPOrigins are set.
	Issuer string
	// RPID is the WebAuthn relying party ID (the issuer's host name). A
	// passkey is bound to it: changing it orphans every registered passkey.
	RPID string
	// RPOrigins are the origins WebAuthn responses may come from (the
	// issuer's scheme, host and port).
	RPOrigins []string
	// RPName is the name authenticators show; "Gatehouse" when empty.
	RPName string
	// UserVerification is what WebAuthn asks of the authenticator:
	// "required" (the default: a PIN or biometric, checked on every use),
	// "preferred" or "discouraged" (security keys without a PIN).
	UserVerification string

	Directory storage.Directory
	Ephemeral storage.Ephemeral
	// Box seals TOTP secrets at rest, and the pending secret of an
	// enrolment while it sits in the ephemeral store.
	Box *keys.Box

	// SMSWebhook is the URL SMS codes are POSTed to as JSON; empty turns
	// the SMS factor off.
	SMSWebhook string
	// HTTPClient posts to SMSWebhook; a client with a 10 s timeout when nil.
	HTTPClient *http.Client

	// CurrentUser returns the browser's signed-in user and SSO session, for
	// the account security pages.
	CurrentUser func(r *http.Request) (userID, sessionID string, ok bool)
	// OnFailure counts a wrong second-factor code at sign-in toward the
	// lockout. When nil, the sign-in flow's own counter (Turn.CountFailure)
	// is used, which is what a deployment wants; set it only to count
	// elsewhere. After it returns, a user whose LockedUntil is now in the
	// future is shown the locked page.
	OnFailure func(ctx context.Context, userID string) error

	// SessionTTL is how long an SSO session lives (login.Config.SessionTTL):
	// a session begun by a sign-in that used a next-login pause stays
	// paused this long. login.DefaultSessionTTL when zero.
	SessionTTL time.Duration

	Secure web.Secure
	Now    func() time.Time
	// Rand is the source of TOTP secrets, recovery codes and SMS codes;
	// crypto/rand when nil.
	Rand   io.Reader
	Logger *slog.Logger
}

// Defaults and limits.
const (
	DefaultRPName = "Gatehouse"
	// challengeTTL bounds a WebAuthn ceremony and a pending enrolment.
	challengeTTL = 5 * time.Minute
	// pendingTOTPTTL is how long an account page's new TOTP secret waits
	// for its confirming code.
	pendingTOTPTTL = 10 * time.Minute
	// decisionCacheTTL is how long a sign-in that needed no factor is
	// remembered for the SSO flows of its session, sparing them the
	// directory reads. A policy change (a partner's require_mfa) reaches
	// existing sessions within this long.
	decisionCacheTTL = 5 * time.Minute
	// maxFormBytes bounds the account pages' form posts; the largest
	// field is a WebAuthn response of a few KiB.
	maxFormBytes = 64 << 10
)

// MFA is Gatehouse's second factors: the sign-in steps that ask for and
// enrol them, and the account security pages that manage them.
type MFA struct {
	cfg  Config
	dir  storage.Directory
	eph  storage.Ephemeral
	box  *keys.Box
	wa   *webauthn.WebAuthn
	now  func() time.Time
	rand io.Reader
	log  *slog.Logger
	sms  *smsSender // nil when SMS is off

	enrol     *enrolStep
	challenge *challengeStep
}

// New checks cfg and returns an MFA.
func New(cfg Config) (*MFA, error) {
	var problems []string
	if cfg.Directory == nil {
		problems = append(problems, "Directory is required")
	}
	if cfg.Ephemeral == nil {
		problems = append(problems, "Ephemeral is required")
	}
	if cfg.Box == nil {
		problems = append(problems, "Box is required")
	}
	if cfg.CurrentUser == nil {
		problems = append(problems, "CurrentUser is required")
	}
	explicitRPID := cfg.RPID != ""
	if cfg.RPID == "" || len(cfg.RPOrigins) == 0 {
		u, err := url.Parse(cfg.Issuer)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			problems = append(problems, fmt.Sprintf("Issuer %q is not an absolute http(s) URL (needed for the WebAuthn relying party)", cfg.Issuer))
		} else {
			if cfg.RPID == "" {
				cfg.RPID = u.Hostname()
			}
			if len(cfg.RPOrigins) == 0 {
				cfg.RPOrigins = []string{u.Scheme + "://" + u.Host}
			}
		}
	}
	uv := protocol.UserVerificationRequirement(cfg.UserVerification)
	switch uv {
	case "":
		uv = protocol.VerificationRequired
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		problems = append(problems, fmt.Sprintf("UserVerification %q must be required, preferred or discouraged", cfg.UserVerification))
	}
	var sms *smsSender
	if cfg.SMSWebhook != "" {
		u, err := url.Parse(cfg.SMSWebhook)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			problems = append(problems, fmt.Sprintf("SMSWebhook %q is not an absolute http(s) URL", cfg.SMSWebhook))
		}
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		sms = &smsSender{url: cfg.SMSWebhook, client: client}
	}
	if len(problems) > 0 {
		return nil, errors.New("mfa: " + strings.Join(problems, "; "))
	}
	if cfg.RPName == "" {
		cfg.RPName = DefaultRPName
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = login.DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// WebAuthn forbids an IP address as relying party ID, so an issuer
	// such as http://127.0.0.1:8080 gets no passkeys (codes still work);
	// one named explicitly must be valid.
	rpIDValid := protocol.ValidateRPID(cfg.RPID) == nil
	if !rpIDValid && explicitRPID {
		return nil, fmt.Errorf("mfa: RPID %q is not a valid WebAuthn relying party ID (a host name, not an address)", cfg.RPID)
	}
	var wa *webauthn.WebAuthn
	if rpIDValid {
		var err error
		wa, err = webauthn.New(&webauthn.Config{
			RPID:          cfg.RPID,
			RPDisplayName: cfg.RPName,
			RPOrigins:     cfg.RPOrigins,
			AuthenticatorSelection: protocol.AuthenticatorSelection{
				// A passkey where the authenticator can keep one; a plain
				// security key otherwise.
				ResidentKey:      protocol.ResidentKeyRequirementPreferred,
				UserVerification: uv,
			},
			AttestationPreference: protocol.PreferNoAttestation,
		})
		if err != nil {
			return nil, fmt.Errorf("mfa: WebAuthn relying party: %w", err)
		}
	} else {
		cfg.Logger.Warn("mfa: passkeys are off: the issuer's host is not a valid WebAuthn relying party ID", "rp_id", cfg.RPID)
	}
	m := &MFA{
		cfg:  cfg,
		dir:  cfg.Directory,
		eph:  cfg.Ephemeral,
		box:  cfg.Box,
		wa:   wa,
		now:  cfg.Now,
		rand: cfg.Rand,
		log:  cfg.Logger,
		sms:  sms,
	}
	m.enrol = &enrolStep{m: m}
	m.challenge = &challengeStep{m: m}
	return m, nil
}

// Steps returns the sign-in steps, in the order to register them (after
// the federation step): the enrolment step, then the challenge step. Each
// asks for its page only in its own case, so the order is a convention.
func (m *MFA) Steps() []login.Step {
	return []login.Step{m.enrol, m.challenge}
}

// PasskeysEnabled reports whether WebAuthn is on: the relying party ID
// (the issuer's host) must be a host name, not an IP address.
func (m *MFA) PasskeysEnabled() bool { return m.wa != nil }

// SMSEnabled reports whether the SMS factor is on.
func (m *MFA) SMSEnabled() bool { return m.sms != nil }

// Mount registers the account security pages and their WebAuthn endpoint.
func (m *MFA) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/security", m.serveSecurity)
	mux.HandleFunc("GET /account/security/totp", m.serveAddTOTP)
	mux.HandleFunc("POST /account/security/totp", m.confirmTOTP)
	mux.HandleFunc("POST /account/security/webauthn/options", m.passkeyOptions)
	mux.HandleFunc("POST /account/security/webauthn", m.registerPasskey)
	mux.HandleFunc("POST /account/security/remove", m.removeFactor)
	mux.HandleFunc("POST /account/security/recovery", m.regenerateRecovery)
	mux.HandleFunc("POST /account/security/sms", m.startSMS)
	mux.HandleFunc("POST /account/security/sms/confirm", m.confirmSMS)
}

// usable counts the factors that can stand as a second factor on their
// own: recovery codes only back the others up.
func usable(fs []storage.Factor) int {
	n := 0
	for _, f := range fs {
		if f.Kind != storage.FactorRecovery {
			n++
		}
	}
	return n
}

// ofKind returns the factors of one kind.
func ofKind(fs []storage.Factor, k storage.FactorKind) []storage.Factor {
	var out []storage.Factor
	for _, f := range fs {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

// newID returns a factor ID.
func newID() string { return web.RandomToken(16) }
