package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// DefaultTimeout bounds one whole SMTP exchange when SMTPConfig.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// SMTPConfig configures NewSMTP.
type SMTPConfig struct {
	Addr     string // host:port of the submission server
	From     string // "Gatehouse <no-reply@example.com>"
	Username string // empty: no AUTH
	Password string
	// Timeout bounds one whole exchange, connection to QUIT.
	Timeout time.Duration
	// TLSConfig, when set, is used for STARTTLS (a private CA, say); the
	// server name is filled in from Addr.
	TLSConfig *tls.Config
	// HeloName is the name given in EHLO; the host name by default.
	HeloName string
	Now      func() time.Time
}

// SMTP sends mail through a submission server. It upgrades to TLS whenever
// the server offers STARTTLS and sends credentials only over TLS or to a
// server on this machine.
type SMTP struct {
	cfg   SMTPConfig
	from  *mail.Address
	host  string
	local bool
	// offersTLS remembers that the server advertised STARTTLS, so later
	// sends go straight to the upgraded connection instead of probing.
	offersTLS atomic.Bool
}

// NewSMTP checks cfg and returns the sender. It does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("mail.smtp: %q is not host:port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail.from: %q: %v", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
		if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") {
			cfg.HeloName = h
		}
	}
	ip := net.ParseIP(host)
	return &SMTP{
		cfg:   cfg,
		from:  from,
		host:  host,
		local: strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback()),
	}, nil
}

// Send delivers m. A *smtp.SMTPError from the server is kept in the error
// chain, so Temporary can tell a 4xx from a 5xx.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	env, err := build(s.from, m, s.cfg.Now())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c, err := s.connect(ctx, deadline)
	if err != nil {
		return fmt.Errorf("mail: smtp %s: %w", s.cfg.Addr, err)
	}
	defer c.Close()

	if s.cfg.Username != "" {
		if err := s.auth(c); err != nil {
			return fmt.Errorf("mail: smtp %s: %w", s.cfg.Addr, err)
		}
	}
	if err := c.SendMail(s.from.Address, []string{env.to}, bytes.NewReader(env.data)); err != nil {
		return fmt.Errorf("mail: smtp %s: %w", s.cfg.Addr, err)
	}
	// The message is accepted once DATA is answered; a failed QUIT changes
	// nothing.
	_ = c.Quit()
	return nil
}

func (s *SMTP) auth(c *smtp.Client) error {
	if _, isTLS := c.TLSConnectionState(); !isTLS && !s.local {
		return fmt.Errorf("%w: refusing to send credentials without TLS (the server does not offer STARTTLS)", errPermanent)
	}
	if !c.SupportsAuth("PLAIN") {
		return fmt.Errorf("%w: the server does not offer AUTH PLAIN", errPermanent)
	}
	return c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password))
}

// connect returns a client that has said EHLO, on a TLS connection whenever
// the server offers STARTTLS. go-smtp upgrades only as part of opening the
// client, so learning that a server offers TLS costs one extra connection,
// once.
func (s *SMTP) connect(ctx context.Context, deadline time.Time) (*smtp.Client, error) {
	if s.offersTLS.Load() {
		conn, err := s.dial(ctx, deadline)
		if err != nil {
			return nil, err
		}
		c, err := smtp.NewClientStartTLS(conn, s.tlsConfig())
		if err != nil {
			// Perhaps the server changed; probe again next time.
			s.offersTLS.Store(false)
			return nil, err
		}
		if err := s.hello(c); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}

	conn, err := s.dial(ctx, deadline)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	if err := s.hello(c); err != nil {
		c.Close()
		return nil, err
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return c, nil
	}
	_ = c.Quit()
	c.Close()
	s.offersTLS.Store(true)
	return s.connect(ctx, deadline)
}

// hello says EHLO with our name. After STARTTLS go-smtp forgets the first
// EHLO (RFC 3207 section 4.2), so this is also the name the upgraded session
// hears.
func (s *SMTP) hello(c *smtp.Client) error { return c.Hello(s.cfg.HeloName) }

func (s *SMTP) dial(ctx context.Context, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(deadline)
	// A cancelled context ends the exchange at once rather than at the
	// deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	return &stopConn{Conn: conn, stop: stop}, nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// stopConn releases the context watch when the connection closes.
type stopConn struct {
	net.Conn
	stop func() bool
}

func (c *stopConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
