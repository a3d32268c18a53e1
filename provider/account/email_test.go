package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/provider/account"
	"gatehouse/storage"
)

func TestEmailChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("old@acme.example", withPassword(goodPassword))

	if err := e.h.RequestEmailChange(ctx, u, "  New@Acme.example "); err != nil {
		t.Fatalf("RequestEmailChange: %v", err)
	}
	confirm := e.inbox.WaitFor(t, "new@acme.example")
	link := confirm.Link("/account/email/confirm?token=")
	if link == "" {
		t.Fatalf("confirmation without link:\n%s", confirm.Text)
	}
	notice := e.inbox.WaitFor(t, "old@acme.example")
	if strings.Contains(string(notice.Raw), tokenOf(t, link)) || !strings.Contains(notice.Text, "new@acme.example") {
		t.Errorf("notice to the old address:\n%s", notice.Text)
	}
	if got := e.get(u.ID).Email; got != "old@acme.example" {
		t.Fatalf("address changed before confirmation: %s", got)
	}

	// Someone else signed in in this browser: refused, nothing changes.
	other := e.user("someone@acme.example", nil)
	br := e.browser()
	br.signIn(other.ID, "s")
	br.get(path(t, link)).has(t, 403, "another account")
	if got := e.get(u.ID).Email; got != "old@acme.example" {
		t.Fatal("another account's session changed the address")
	}

	// The owner (or anyone not signed in) follows it.
	br = e.browser()
	br.get(path(t, link)).has(t, 200, "now new@acme.example")
	if got := e.get(u.ID).Email; got != "new@acme.example" {
		t.Errorf("address after confirmation: %s", got)
	}
	br.get(path(t, link)).has(t, 410, "already used")
	events, _, _ := e.store.ListAudit(ctx, u.PartnerID, storage.Page{})
	if len(events) != 1 || events[0].Action != "user.email_change" {
		t.Errorf("audit %+v", events)
	}
}

func TestEmailChangeRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("me@acme.example", nil)
	e.user("taken@acme.example", nil)

	for _, bad := range []string{"", "not-an-address", "Me <me2@acme.example>", "a@b", strings.Repeat("x", 250) + "@acme.example"} {
		if err := e.h.RequestEmailChange(ctx, u, bad); !errors.Is(err, account.ErrInvalidEmail) {
			t.Errorf("%q: %v, want ErrInvalidEmail", bad, err)
		}
	}
	if err := e.h.RequestEmailChange(ctx, u, "TAKEN@acme.example"); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken address: %v", err)
	}
	if err := e.h.RequestEmailChange(ctx, u, "me@acme.example"); err != nil {
		t.Errorf("same address: %v", err)
	}
	if n := len(e.inbox.All()); n != 0 {
		t.Errorf("%d mails sent for refused changes", n)
	}

	// Taken in the meantime: 409, nothing changes.
	if err := e.h.RequestEmailChange(ctx, u, "later@acme.example"); err != nil {
		t.Fatal(err)
	}
	link := e.inbox.WaitFor(t, "later@acme.example").Link("/account/email/confirm")
	e.user("later@acme.example", nil)
	br := e.browser()
	br.get(path(t, link)).has(t, 409, "in the meantime")
	if got := e.get(u.ID).Email; got != "me@acme.example" {
		t.Errorf("address: %s", got)
	}

	// Expired after 24 hours.
	if err := e.h.RequestEmailChange(ctx, u, "slow@acme.example"); err != nil {
		t.Fatal(err)
	}
	link = e.inbox.WaitFor(t, "slow@acme.example").Link("/account/email/confirm")
	e.clock.Advance(24 * time.Hour)
	br.get(path(t, link)).has(t, 410, "expired")
	br.get("/account/email/confirm?token=abc").has(t, 400, "malformed")
	if got := e.get(u.ID).Email; got != "me@acme.example" {
		t.Errorf("address: %s", got)
	}
}
