package mail

import (
	"context"
	"errors"
	"testing"

	"gatehouse/mail/mailtest"
)

// A server that is not on this machine and offers no TLS must not get the
// credentials in the clear.
func TestSMTPKeepsCredentialsOffPlainRemoteServers(t *testing.T) {
	addr, inbox := mailtest.NewServerWith(t, mailtest.Config{Username: "gh", Password: "pw"})
	s, err := NewSMTP(SMTPConfig{Addr: addr, From: "a@b.example", Username: "gh", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	s.local = false // as if 127.0.0.1 were far away
	err = s.Send(context.Background(), Message{To: "x@acme.example", Subject: "s", Text: "t"})
	if !errors.Is(err, errPermanent) || Temporary(err) {
		t.Fatalf("err = %v, want a permanent refusal", err)
	}
	if inbox.Attempts() != 0 {
		t.Error("message sent")
	}
}
