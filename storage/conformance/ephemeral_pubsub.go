package conformance

import (
	"context"
	"testing"
	"time"

	"gatehouse/storage"
)

func subscribe(t *testing.T, ctx context.Context, s storage.Ephemeral, channel string) <-chan string {
	t.Helper()
	ch, err := s.Subscribe(ctx, channel)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", channel, err)
	}
	return ch
}

func publish(t *testing.T, s storage.Ephemeral, channel, msg string) {
	t.Helper()
	if err := s.Publish(ctxFor(t), channel, msg); err != nil {
		t.Fatalf("Publish(%q): %v", channel, err)
	}
}

// receive waits for the next message; patience only bounds a broken store.
func receive(t *testing.T, ch <-chan string, who string) string {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatalf("%s: subscription closed, want a message", who)
		}
		return m
	case <-time.After(patience):
		t.Fatalf("%s: no message within %s", who, patience)
		return ""
	}
}

// A message reaches every subscriber (every node's cache), in the order
// published.
func ephemeralPubSubFanOut(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	publish(t, s, "keys", "before anyone listens")

	first := subscribe(t, ctx, s, "keys")
	second := subscribe(t, ctx, s, "keys")
	for _, msg := range []string{"rotated", "", "rotated again"} {
		publish(t, s, "keys", msg)
	}
	for who, ch := range map[string]<-chan string{"first": first, "second": second} {
		for _, want := range []string{"rotated", "", "rotated again"} {
			if got := receive(t, ch, who); got != want {
				t.Fatalf("%s subscriber got %q, want %q", who, got, want)
			}
		}
	}
}

func ephemeralPubSubChannels(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	clients := subscribe(t, ctx, s, "clients")
	publish(t, s, "partners", "for partners")
	publish(t, s, "clients", "for clients")
	if got := receive(t, clients, "clients"); got != "for clients" {
		t.Fatalf("subscriber of clients got %q, want %q", got, "for clients")
	}
}

// Cancelling a subscription's context closes its channel and leaves other
// subscribers of the same channel listening.
func ephemeralPubSubEnds(t *testing.T, s storage.Ephemeral) {
	ctx := ctxFor(t)
	subCtx, cancel := context.WithCancel(ctx)
	ending := subscribe(t, subCtx, s, "partners")
	staying := subscribe(t, ctx, s, "partners")
	cancel()

	deadline := time.After(patience)
	for closed := false; !closed; {
		select {
		case _, ok := <-ending:
			closed = !ok
		case <-deadline:
			t.Fatalf("subscription still open %s after its context ended", patience)
		}
	}
	publish(t, s, "partners", "still here")
	if got := receive(t, staying, "remaining subscriber"); got != "still here" {
		t.Fatalf("remaining subscriber got %q, want %q", got, "still here")
	}
}
