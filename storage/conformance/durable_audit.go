package conformance

import (
	"fmt"
	"testing"
	"time"

	"gatehouse/storage"
)

func durableEvent(partner, id string, at time.Time) storage.AuditEvent {
	return storage.AuditEvent{
		ID: id, PartnerID: partner, Time: at, Actor: "u-admin", Action: "user.update", Target: "u-" + id,
		IP: "192.0.2.1",
		// JSON keeps strings, float64 numbers, bools and nested maps as they are.
		Details: map[string]any{"field": "role", "count": float64(2), "ok": true,
			"change": map[string]any{"from": "tech", "to": "admin"}},
	}
}

func durableAuditOrder(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	var want []storage.AuditEvent
	// Appended out of order; two events share an instant.
	for _, e := range []storage.AuditEvent{
		durableEvent("acme", "e2", durableT0.Add(2*time.Second)),
		durableEvent("acme", "e0", durableT0),
		durableEvent("acme", "e3b", durableT0.Add(3*time.Second)),
		durableEvent("acme", "e3a", durableT0.Add(3*time.Second)),
		durableEvent("acme", "e1", durableT0.Add(time.Second)),
		durableEvent("other", "x1", durableT0.Add(time.Hour)),
	} {
		durableOK(t, s.AppendAudit(ctx, e), "AppendAudit(%s)", e.ID)
	}
	byID := map[string]storage.AuditEvent{}
	for _, e := range []storage.AuditEvent{
		durableEvent("acme", "e2", durableT0.Add(2*time.Second)),
		durableEvent("acme", "e0", durableT0),
		durableEvent("acme", "e3b", durableT0.Add(3*time.Second)),
		durableEvent("acme", "e3a", durableT0.Add(3*time.Second)),
		durableEvent("acme", "e1", durableT0.Add(time.Second)),
	} {
		byID[e.ID] = e
	}
	for _, id := range []string{"e3b", "e3a", "e2", "e1", "e0"} {
		want = append(want, byID[id])
	}

	got, next, err := s.ListAudit(ctx, "acme", storage.Page{})
	durableOK(t, err, "ListAudit")
	if next != "" {
		t.Fatalf("ListAudit: a next page token on a short list")
	}
	durableSame(t, got, want, "ListAudit newest first, ties by id descending")

	other, _, err := s.ListAudit(ctx, "other", storage.Page{})
	durableOK(t, err, "ListAudit(other)")
	if len(other) != 1 || other[0].ID != "x1" {
		t.Fatalf("ListAudit(other) = %+v", other)
	}
	none, _, err := s.ListAudit(ctx, "nobody", storage.Page{})
	durableOK(t, err, "ListAudit(nobody)")
	if len(none) != 0 {
		t.Fatalf("ListAudit(nobody) = %+v", none)
	}
	durableErrIs(t, s.AppendAudit(ctx, durableEvent("acme", "e0", durableT0)), storage.ErrAlreadyExists, "AppendAudit with a used id")
}

func durableAuditPages(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	// Twelve events over six instants, two per instant, so page
	// boundaries fall between events of the same time.
	var want []string
	for i := 11; i >= 0; i-- {
		want = append(want, fmt.Sprintf("e%02d", i))
	}
	for i := range 12 {
		e := durableEvent("acme", fmt.Sprintf("e%02d", i), durableT0.Add(time.Duration(i/2)*time.Second))
		durableOK(t, s.AppendAudit(ctx, e), "AppendAudit")
	}
	durableOK(t, s.AppendAudit(ctx, durableEvent("other", "zz", durableT0)), "AppendAudit(other)")

	var got []string
	var sizes []int
	token := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("ListAudit never ended")
		}
		events, next, err := s.ListAudit(ctx, "acme", storage.Page{Token: token, Limit: 5})
		durableOK(t, err, "ListAudit page %d", page)
		sizes = append(sizes, len(events))
		for _, e := range events {
			got = append(got, e.ID)
		}
		if next == "" {
			break
		}
		token = next
	}
	durableSame(t, sizes, []int{5, 5, 2}, "page sizes")
	durableSame(t, got, want, "every event once, newest first")
}
