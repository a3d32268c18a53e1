package mail

import (
	"context"
	"log/slog"
)

// Log is the Sender used when no SMTP server is configured: each mail is
// written to the log, links and all, so a development or demo setup can
// follow invitations and resets.
type Log struct {
	log *slog.Logger
}

// NewLog returns a Sender that logs mail to logger (slog.Default when nil).
func NewLog(logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{log: logger}
}

// Send logs m; it never fails.
func (l *Log) Send(ctx context.Context, m Message) error {
	l.log.InfoContext(ctx, "mail (no mail.smtp configured, so written here)",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
