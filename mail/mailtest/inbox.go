package mailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// WaitTimeout is how long WaitFor waits for a message before failing the test.
var WaitTimeout = 10 * time.Second

// Message is one mail as the server received it.
type Message struct {
	From     string   // envelope sender
	To       []string // envelope recipients
	Header   mail.Header
	Subject  string // decoded
	Text     string // the text/plain body, decoded
	HTML     string // the text/html body, decoded
	Links    []string
	Raw      []byte
	TLS      bool   // arrived over TLS
	AuthUser string // the AUTH user, if any
}

// Link returns the first link in the text body that contains part, or "".
func (m Message) Link(part string) string {
	for _, l := range m.Links {
		if strings.Contains(l, part) {
			return l
		}
	}
	return ""
}

// Inbox holds what a server received.
type Inbox struct {
	cfg   Config
	roots *x509.CertPool

	mu       sync.Mutex
	msgs     []Message
	seen     []bool // returned by WaitFor already
	attempts int    // DATA commands, refused ones included
	fail     []int  // reply codes for the next DATA commands
	arrived  chan struct{}
}

// ClientTLS returns a client configuration that trusts the server's
// certificate (nil for a server without TLS).
func (in *Inbox) ClientTLS() *tls.Config {
	if in.roots == nil {
		return nil
	}
	return &tls.Config{RootCAs: in.roots, MinVersion: tls.VersionTLS12}
}

// FailNext makes the next n messages be refused with code (451 for a
// temporary failure, 550 for a permanent one) after their data is read.
func (in *Inbox) FailNext(n, code int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for range n {
		in.fail = append(in.fail, code)
	}
}

// Attempts is how many messages were offered, refused ones included.
func (in *Inbox) Attempts() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.attempts
}

func (in *Inbox) takeFailure() (int, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.attempts++
	if len(in.fail) == 0 {
		return 0, false
	}
	code := in.fail[0]
	in.fail = in.fail[1:]
	return code, true
}

func (in *Inbox) add(m Message) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.msgs = append(in.msgs, m)
	in.seen = append(in.seen, false)
	close(in.arrived)
	in.arrived = make(chan struct{})
}

// All returns every message received so far.
func (in *Inbox) All() []Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.msgs)
}

// For returns the messages received so far for address to (case-insensitive).
func (in *Inbox) For(to string) []Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Message
	for _, m := range in.msgs {
		if addressedTo(m, to) {
			out = append(out, m)
		}
	}
	return out
}

// WaitFor returns the oldest message for to that WaitFor has not returned
// before, waiting for it to arrive; the test fails after WaitTimeout.
func (in *Inbox) WaitFor(t testing.TB, to string) Message {
	t.Helper()
	timeout := time.After(WaitTimeout)
	for {
		in.mu.Lock()
		for i, m := range in.msgs {
			if !in.seen[i] && addressedTo(m, to) {
				in.seen[i] = true
				in.mu.Unlock()
				return m
			}
		}
		arrived := in.arrived
		in.mu.Unlock()
		select {
		case <-arrived:
		case <-timeout:
			t.Fatalf("mailtest: no mail for %s within %s (received: %s)", to, WaitTimeout, in.summary())
			return Message{}
		}
	}
}

func (in *Inbox) summary() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.msgs) == 0 {
		return "nothing"
	}
	var parts []string
	for _, m := range in.msgs {
		parts = append(parts, fmt.Sprintf("%v %q", m.To, m.Subject))
	}
	return strings.Join(parts, "; ")
}

func addressedTo(m Message, to string) bool {
	for _, r := range m.To {
		if lower(r) == lower(to) {
			return true
		}
	}
	return false
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"']+`)

// parse reads a received message: headers, the decoded subject, and the
// text and HTML bodies of a single-part or multipart/alternative mail.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("subject: %w", err)
	}
	if err := readPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return Message{}, err
	}
	if m.Text == "" && m.HTML == "" {
		return Message{}, errNoBody
	}
	m.Links = linkRE.FindAllString(m.Text, -1)
	return m, nil
}

func readPart(m *Message, ctype, cte string, body io.Reader) error {
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content-type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			// multipart.Reader removes the header of a quoted-printable
			// part it has already decoded.
			if err := readPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch mt {
	case "text/plain":
		m.Text = text
	case "text/html":
		m.HTML = text
	}
	return nil
}
