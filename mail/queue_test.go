package mail_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"gatehouse/mail"
	"gatehouse/mail/mailtest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestQueueRetriesTemporaryFailure(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	inbox.FailNext(2, 451)
	q := mail.NewQueueWith(newSMTP(t, mail.SMTPConfig{Addr: addr}), quiet(),
		mail.QueueConfig{Backoff: 5 * time.Millisecond})

	if err := q.Send(context.Background(), mail.Message{To: "retry@acme.example", Subject: "s", Text: "t"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := inbox.WaitFor(t, "retry@acme.example")
	if m.Subject != "s" {
		t.Errorf("subject %q", m.Subject)
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := inbox.Attempts(); n != 3 {
		t.Errorf("attempts = %d, want 3 (two refusals, one success)", n)
	}
}

func TestQueueGivesUpOnPermanentFailure(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	inbox.FailNext(1, 550)
	q := mail.NewQueueWith(newSMTP(t, mail.SMTPConfig{Addr: addr}), quiet(),
		mail.QueueConfig{Backoff: time.Millisecond})
	if err := q.Send(context.Background(), mail.Message{To: "perm@acme.example", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	// Close waits until the message is finished with, delivered or not.
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := inbox.Attempts(); n != 1 {
		t.Errorf("attempts = %d, want 1: a 5xx is not retried", n)
	}
	if len(inbox.All()) != 0 {
		t.Error("refused message delivered")
	}
}

func TestQueueStopsAfterAttempts(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	inbox.FailNext(10, 421)
	q := mail.NewQueueWith(newSMTP(t, mail.SMTPConfig{Addr: addr}), quiet(),
		mail.QueueConfig{Attempts: 3, Backoff: time.Millisecond})
	_ = q.Send(context.Background(), mail.Message{To: "x@acme.example", Subject: "s", Text: "t"})
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := inbox.Attempts(); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
}

// blocking is a Sender that holds every message until released.
type blocking struct {
	started chan struct{}
	release chan struct{}
}

func (b *blocking) Send(ctx context.Context, m mail.Message) error {
	b.started <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestQueueIsBoundedAndNeverBlocks(t *testing.T) {
	b := &blocking{started: make(chan struct{}, 10), release: make(chan struct{})}
	q := mail.NewQueueWith(b, quiet(), mail.QueueConfig{Size: 2, Workers: 1})
	msg := mail.Message{To: "x@acme.example", Subject: "s", Text: "t"}

	if err := q.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	<-b.started // the worker holds the first; two more fit in the queue
	for i := range 2 {
		if err := q.Send(context.Background(), msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := q.Send(context.Background(), msg); !errors.Is(err, mail.ErrQueueFull) {
		t.Fatalf("full queue: err = %v, want ErrQueueFull", err)
	}
	close(b.release)
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := q.Send(context.Background(), msg); !errors.Is(err, mail.ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}

func TestQueueCloseGivesUpWhenContextEnds(t *testing.T) {
	b := &blocking{started: make(chan struct{}, 10), release: make(chan struct{})}
	q := mail.NewQueueWith(b, quiet(), mail.QueueConfig{Size: 4, Workers: 1})
	for range 3 {
		_ = q.Send(context.Background(), mail.Message{To: "x@acme.example", Subject: "s", Text: "t"})
	}
	<-b.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
}

func TestQueueDrainsOnClose(t *testing.T) {
	addr, inbox := mailtest.NewServer(t)
	q := mail.NewQueue(newSMTP(t, mail.SMTPConfig{Addr: addr}), quiet())
	for range 5 {
		if err := q.Send(context.Background(), mail.Message{To: "drain@acme.example", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox.For("drain@acme.example")); n != 5 {
		t.Errorf("delivered %d of 5 before Close returned", n)
	}
}
