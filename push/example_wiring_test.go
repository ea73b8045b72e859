package push_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// The host's side of the wiring, as README.md shows it: describe the event,
// hand it over, carry out the decisions.
func Example() {
	engine, err := push.New(push.Config{WithSender: true}) // zero Config = Prosody's defaults
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	phone := "juliet@example.org/phone"
	engine.Handle(context.Background(), events.SessionOpened{Now: now, Session: phone})
	engine.Handle(ctx, events.IQ{Now: now, Session: phone, ID: "e1",
		Payload: []byte(`<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/>`)})
	engine.HibernationStart(context.Background(), events.HibernationStarted{Now: now, Session: phone})

	stanza, err := events.ParseStanza([]byte(`<message from='romeo@montague.example/orchard' type='chat' id='m1'><body>Hi</body></message>`))
	if err != nil {
		panic(err)
	}
	stanza.Key = events.KeyOf("m1") // the message's identity across paths

	d, err := engine.StanzaQueued(context.Background(), events.StanzaQueued{Now: now, Session: phone, Stanza: stanza})
	if err != nil {
		panic(err) // an invalid event: nothing changed
	}
	execute := func(d push.Decisions) {
		for _, r := range d.Replies {
			fmt.Printf("send %s to %s\n", r.AppendXML(nil), r.Session)
		}
		for _, t := range d.Timeouts {
			fmt.Printf("hibernation timeout of %s: %v from %s\n", t.Session, t.Duration, t.At.Format(time.TimeOnly))
		}
		for _, p := range d.Publishes {
			fmt.Printf("publish to %s (important: %v, sender %s); answer with an events.PublishResult\n", p.To(), p.Important, p.Sender)
		}
		if !d.Wake.IsZero() {
			fmt.Printf("call engine.Wake at %s\n", d.Wake.Format(time.TimeOnly))
		}
	}
	execute(d)
	execute(engine.Wake(context.Background(), d.Wake))
	// Output:
	// call engine.Wake at 09:00:01
	// hibernation timeout of juliet@example.org/phone: 10m0s from 09:00:01
	// publish to push.example.net (important: true, sender romeo@montague.example/orchard); answer with an events.PublishResult
}

// A host's worker goroutine on the allocation-free path: one Decisions,
// reused for every event, emptied once its decisions are carried out.
func ExampleEngine_HandleInto() {
	engine, err := push.New(push.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	phone := "juliet@example.org/phone"
	var d push.Decisions
	for i, ev := range []events.Event{
		events.SessionOpened{Now: now, Session: phone},
		events.IQ{Now: now, Session: phone, ID: "e1",
			Payload: []byte(`<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/>`)},
		events.SessionClosed{Now: now, Session: phone},
		events.OfflineMessage{Now: now.Add(time.Minute), User: "juliet@example.org",
			Stanza: events.Stanza{Key: 1, Kind: events.KindMessage, Type: "chat", Body: "Hi", HasBody: true}},
	} {
		d.Reset()
		if err := engine.HandleInto(ctx, ev, &d); err != nil {
			panic(err)
		}
		fmt.Printf("event %d: %d replies, %d publishes\n", i, len(d.Replies), len(d.Publishes))
		for _, p := range d.Publishes {
			fmt.Printf("  publish to %s node %s\n", p.To(), p.Node())
		}
	}
	// Output:
	// event 0: 0 replies, 0 publishes
	// event 1: 1 replies, 0 publishes
	// event 2: 0 replies, 0 publishes
	// event 3: 0 replies, 1 publishes
	//   publish to push.example.net node A
}
