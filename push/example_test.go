package push_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// enabled returns an engine with Juliet's phone push-enabled at node A.
func enabled(cfg push.Config) *push.Engine {
	cfg.IDPrefix, cfg.IDSecret = "push-", "example"
	engine, err := push.New(cfg)
	if err != nil {
		panic(err)
	}
	engine.Handle(context.Background(), events.SessionOpened{Now: t0, Session: "juliet@example.org/phone"})
	engine.Handle(context.Background(), events.IQ{Now: t0, Session: "juliet@example.org/phone", ID: "e1",
		Payload: []byte(`<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/>`)})
	return engine
}

func message(key events.Key, body string) events.Stanza {
	st, err := events.ParseStanza([]byte(`<message from='romeo@montague.example/orchard' to='juliet@example.org' type='chat'><body>` + body + `</body></message>`))
	if err != nil {
		panic(err)
	}
	st.Key = key
	return st
}

// A client enables push: the host passes the IQ to the engine and sends the
// reply it decides.
func ExampleEngine_Handle_enable() {
	engine, _ := push.New(push.Config{})
	ctx := context.Background()
	engine.Handle(context.Background(), events.SessionOpened{Now: t0, Session: "juliet@example.org/phone"})
	d, err := engine.Handle(ctx, events.IQ{Now: t0, Session: "juliet@example.org/phone", Payload: []byte(
		`<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='yxs32uqsflafdk3iuqo'>` +
			`<x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
			`<field var='secret'><value>eruio234vzxc2kla-91</value></field></x></enable></iq>`)})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", d.Replies[0].AppendXML(nil))

	d, _ = engine.Handle(ctx, events.IQ{Now: t0, Session: "juliet@example.org/phone", ID: "e2",
		Payload: []byte(`<enable xmlns='urn:xmpp:push:0' jid='juliet@example.org' node='x'/>`)})
	fmt.Printf("%s\n", d.Replies[0].AppendXML(nil))
	// Output:
	// <iq type='result' id='e1' to='juliet@example.org/phone'/>
	// <iq type='error' id='e2' to='juliet@example.org/phone'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>JID must be different from ours</text></error></iq>
}

// A hibernating, push-enabled session receives messages: the first is pushed
// when the batch window closes, and the extended hibernation timeout is cut
// back to normal.
func ExampleEngine_StanzaQueued() {
	engine := enabled(push.Config{})
	phone := "juliet@example.org/phone"

	d, _ := engine.HibernationStart(context.Background(), events.HibernationStarted{Now: sec(5), Session: phone})
	fmt.Println("hibernation: timeout", d.Timeouts[0].Duration)

	d, _ = engine.StanzaQueued(context.Background(), events.StanzaQueued{Now: sec(10), Session: phone, Stanza: message(1, "Hello")})
	fmt.Println("queued: wake at", d.Wake.Sub(t0))
	engine.StanzaQueued(context.Background(), events.StanzaQueued{Now: sec(10.5), Session: phone, Stanza: message(2, "Again")})

	d = engine.Wake(context.Background(), sec(11))
	for _, p := range d.Publishes {
		fmt.Printf("push to %s node %s: important=%v body=%q\n", p.To(), p.Node(), p.Important, p.Body)
	}
	fmt.Println("timeout", d.Timeouts[0].Duration)
	// Output:
	// hibernation: timeout 72h0m0s
	// queued: wake at 11s
	// push to push.example.net node A: important=true body="New Message!"
	// timeout 10m0s
}

// An offline message wakes every registration of the user; the same message
// seen again (same Key) is not pushed twice.
func ExampleEngine_OfflineMessage() {
	engine := enabled(push.Config{WithBody: true, WithSender: true})
	ctx := context.Background()
	engine.Handle(context.Background(), events.SessionClosed{Now: sec(1), Session: "juliet@example.org/phone"})

	msg := message(7, "Wherefore art thou?")
	d, _ := engine.OfflineMessage(ctx, events.OfflineMessage{Now: sec(2), User: "juliet@example.org", Stanza: msg})
	fmt.Printf("%s\n", d.Publishes[0].AppendXML(nil))
	d, _ = engine.OfflineMessage(ctx, events.OfflineMessage{Now: sec(3), User: "juliet@example.org", Stanza: msg})
	fmt.Println("again:", len(d.Publishes), "publishes")
	// Output:
	// <iq type='set' from='example.org' to='push.example.net' id='push-z0eImr-f26ZqfuyJ75jL2g.0'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='A'><item><notification xmlns='urn:xmpp:push:0'><x xmlns='jabber:x:data' type='form'><field type='hidden' var='FORM_TYPE'><value>urn:xmpp:push:summary</value></field><field type='text-single' var='message-count'><value>1</value></field><field type='text-single' var='pending-subscription-count'/><field type='jid-single' var='last-message-sender'><value>romeo@montague.example/orchard</value></field><field type='text-single' var='last-message-body'><value>Wherefore art thou?</value></field></x></notification></item></publish></pubsub></iq>
	// again: 0 publishes
}

// A push service that keeps failing: each error counts, and at MaxErrors the
// registration is removed, so nothing is pushed to it any more.
func ExampleEngine_Handle_publishResult() {
	engine := enabled(push.Config{MaxErrors: 2})
	ctx := context.Background()
	engine.Handle(context.Background(), events.SessionClosed{Now: sec(1), Session: "juliet@example.org/phone"})
	for i := range 3 {
		now := sec(float64(10 * (i + 1)))
		d, _ := engine.OfflineMessage(ctx, events.OfflineMessage{Now: now, User: "juliet@example.org", Stanza: message(events.Key(i+1), "hi")})
		fmt.Println("message", i+1, "->", len(d.Publishes), "publish")
		for _, p := range d.Publishes {
			engine.Handle(ctx, events.PublishResult{Now: now.Add(time.Second), ID: p.ID, From: p.To(),
				Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found"}})
		}
	}
	// Output:
	// message 1 -> 1 publish
	// message 2 -> 1 publish
	// message 3 -> 0 publish
}
