package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// maxSubject bounds the subject line; our templates stay far below it.
const maxSubject = 998

// envelope is a message ready for SMTP: the recipient for RCPT TO and the
// bytes for DATA.
type envelope struct {
	to   string
	data []byte
}

// build renders m as an RFC 5322 message from from, dated now: a
// multipart/alternative with a plain-text and an HTML part, each
// quoted-printable so long lines and non-ASCII text survive any relay.
func build(from *mail.Address, m Message, now time.Time) (envelope, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return envelope{}, fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, m.To, err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") || len(m.Subject) > maxSubject {
		return envelope{}, fmt.Errorf("%w: subject has a line break or is too long", ErrInvalidMessage)
	}
	if m.Text == "" && m.HTML == "" {
		return envelope{}, fmt.Errorf("%w: empty body", ErrInvalidMessage)
	}

	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", messageID(from.Address))
	h("MIME-Version", "1.0")
	// Transactional mail: ask auto-responders to stay quiet.
	h("Auto-Submitted", "auto-generated")
	h("X-Auto-Response-Suppress", "All")

	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return envelope{}, err
		}
		return envelope{to: to.Address, data: b.Bytes()}, nil
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	// The last part is the preferred one (RFC 2046 section 5.1.4).
	for _, p := range []struct{ ctype, text string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		if p.text == "" {
			continue
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return envelope{}, err
		}
		if err := writeQP(w, p.text); err != nil {
			return envelope{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return envelope{}, err
	}
	b.Write(body.Bytes())
	return envelope{to: to.Address, data: b.Bytes()}, nil
}

// writeQP writes text quoted-printable with CRLF line ends.
func writeQP(w interface{ Write([]byte) (int, error) }, text string) error {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\n", "\r\n")
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(text)); err != nil {
		return err
	}
	return qp.Close()
}

// messageID returns a unique Message-ID in the sender's domain.
func messageID(fromAddr string) string {
	domain := "localhost"
	if at := strings.LastIndexByte(fromAddr, '@'); at >= 0 && at < len(fromAddr)-1 {
		domain = fromAddr[at+1:]
	}
	var r [16]byte
	_, _ = rand.Read(r[:])
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}
