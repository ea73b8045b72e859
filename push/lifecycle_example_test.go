package push_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// An admin (or the user, through an ad-hoc command) lists the user's
// registrations and removes one; the Change is the audit trail's entry.
func ExampleEngine_Remove() {
	engine := enabled(push.Config{})
	ctx := context.Background()
	regs, _ := engine.Registrations(ctx, "juliet@example.org")
	for _, r := range regs {
		fmt.Println(r.ID.JID(), r.ID.Node(), r.Enabled.Format(time.RFC3339), r.Errors)
	}
	d, _ := engine.Remove(ctx, sec(60), "juliet@example.org", "admin@example.org", registry.NewIdentifier("push.example.net", "A"))
	for _, c := range d.Changes {
		fmt.Println(c.Reason, c.Registration.Node(), "by", c.Session)
	}
	_, bound := engine.Binding("juliet@example.org/phone")
	fmt.Println("bound:", bound)
	// Output:
	// push.example.net A 2026-11-25T09:00:00Z 0
	// removed A by admin@example.org
	// bound: false
}

// A push service that answers wait is retried with back-off: the host
// calls Wake at Decisions.Wake and sends what it returns.
func ExampleRetryPolicy() {
	engine := enabled(push.Config{Errors: push.ErrorPolicy{Retry: push.RetryPolicy{Attempts: 2, Base: 10 * time.Second}}})
	ctx := context.Background()
	d, _ := engine.OfflineMessage(ctx, events.OfflineMessage{Now: t0, User: "juliet@example.org", Stanza: message(1, "hi")})
	p := d.Publishes[0]
	d, _ = engine.Handle(ctx, events.PublishResult{Now: t0, ID: p.ID, From: p.To(),
		Error: &events.StanzaError{Type: "wait", Condition: "resource-constraint"}})
	delay := d.Wake.Sub(t0)
	fmt.Println("retry within 5-10 s:", delay >= 5*time.Second && delay <= 10*time.Second)
	d = engine.Wake(ctx, d.Wake)
	fmt.Println("resent to", d.Publishes[0].Node(), "with a new id:", d.Publishes[0].ID != p.ID)
	// Output:
	// retry within 5-10 s: true
	// resent to A with a new id: true
}

// A host keeps each account's last changes in a Store that is a
// registry.Auditor, here the last 10.
func ExampleChange_Entry() {
	store := registry.NewMemory()
	engine, _ := push.New(push.Config{Store: store})
	ctx := context.Background()
	record := func(d push.Decisions) {
		for _, c := range d.Changes {
			_ = store.Record(ctx, 10, c.Entry())
		}
	}
	phone := "juliet@example.org/phone"
	d, _ := engine.Handle(ctx, events.IQ{Now: t0, Session: phone, ID: "e1",
		Payload: []byte(`<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/>`)})
	record(d)
	d, _ = engine.Handle(ctx, events.IQ{Now: sec(5), Session: phone, ID: "d1",
		Payload: []byte(`<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>`)})
	record(d)
	history, _ := store.History(ctx, "juliet@example.org")
	for _, h := range history {
		fmt.Println(h.At.Format(time.TimeOnly), h.Reason, h.ID.Node(), "by", h.By)
	}
	// Output:
	// 09:00:00 enabled A by juliet@example.org/phone
	// 09:00:05 disabled A by juliet@example.org/phone
}
