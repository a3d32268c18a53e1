// Package mailtest runs a real SMTP server inside a test process and keeps
// what it receives, parsed, so tests of any package can read the mail
// Gatehouse sent: its text and HTML bodies and the links in them.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Config sets up a server; the zero value is a plain server that accepts
// every message without authentication.
type Config struct {
	// TLS makes the server offer STARTTLS with a self-signed certificate
	// for 127.0.0.1 and localhost; Inbox.ClientTLS trusts it.
	TLS bool
	// Username and Password, when set, make the server require AUTH PLAIN
	// before MAIL. Without TLS, AUTH is allowed over plain text.
	Username string
	Password string
}

// NewServer starts a plain server on 127.0.0.1, stopped when the test ends.
func NewServer(t testing.TB) (addr string, inbox *Inbox) {
	return NewServerWith(t, Config{})
}

// NewServerWith starts a server set up by cfg, stopped when the test ends.
func NewServerWith(t testing.TB, cfg Config) (addr string, inbox *Inbox) {
	t.Helper()
	in := &Inbox{cfg: cfg, arrived: make(chan struct{})}
	s := smtp.NewServer(backend{in})
	s.Domain = "localhost"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.MaxMessageBytes = 1 << 20
	s.MaxRecipients = 10
	s.AllowInsecureAuth = !cfg.TLS
	if cfg.TLS {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		in.roots = pool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return ln.Addr().String(), in
}

// backend opens one session per connection.
type backend struct{ in *Inbox }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{in: b.in, tls: isTLS, conn: c}, nil
}

type session struct {
	in   *Inbox
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.in.cfg.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.in.cfg.Username || password != s.in.cfg.Password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.in.cfg.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if code, ok := s.in.takeFailure(); ok {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "mailtest: refused as asked"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "mailtest: unparsable message: " + err.Error()}
	}
	m.From, m.To, m.TLS, m.AuthUser = s.from, append([]string(nil), s.to...), isTLS, s.user
	s.in.add(m)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned makes a short-lived certificate for 127.0.0.1 and localhost.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

var errNoBody = errors.New("no text or HTML body")

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
