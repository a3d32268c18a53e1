package mail

import (
	"context"
	"errors"

	"github.com/emersion/go-smtp"
)

// Message is one mail to one recipient. To is an address, optionally with a
// display name ("Olivia <olivia@acme.example>"). HTML may be empty, in which
// case the mail is plain text only.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers mail.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage marks a message that can never be sent as it stands: a
// malformed recipient, a header that would break the mail. Retrying it is
// pointless.
var ErrInvalidMessage = errors.New("mail: invalid message")

// Temporary reports whether sending may succeed if tried again later: a 4xx
// reply from the server, or a failure to reach it at all. A 5xx reply and an
// invalid message are permanent.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, ErrInvalidMessage) || errors.Is(err, errPermanent) {
		return false
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	// Connection refused, timeouts, a server that hung up: the server may be
	// back in a moment.
	return true
}

// errPermanent marks configuration problems that retrying cannot fix.
var errPermanent = errors.New("mail: permanent failure")
