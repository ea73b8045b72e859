// Command eventbus shows how to plug the push rules into a Go XMPP server
// whose modules talk over an in-process event bus: the server raises
// "session/bound", "smacks/stanza-queued", "archive/added" and the like with
// its own payload types, and an Adapter translates them into the events of
// package events, runs them through a push.Driver (real timers) and carries
// out the decisions: IQ replies onto the session streams, hibernation
// timeouts through the server, publish IQs onto the connection to the push
// services, whose answers it matches by IQ id and feeds back.
//
//	go run ./examples/eventbus
//
// prints the traffic of a short story and exits. The pieces, one per file:
//
//	bus.go          Bus, a synchronous hook registry like servers have
//	server.go       the topics, the server's payload types, and a fake Server
//	adapter.go      Adapter: bus topics in, decisions out
//	pushclient.go   PushClient: the push.Sender on a stream; it decodes the
//	                answers with push.DecodeResult and matches them by id
//	pushservice.go  a fake push service for the demo and the tests, and the
//	                writer of its <iq/> answers
//
// The library provides the rest: events.ParseStanza and events.KeyOf for
// the server's stanzas, push.Driver for timers and decisions, and
// push.DecodeResult for the push services' answers.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

const (
	user    = "juliet@example.org"
	phone   = "juliet@example.org/phone"
	tablet  = "juliet@example.org/tablet"
	romeo   = "romeo@montague.example/orchard"
	pushJID = "push.example.net"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "eventbus:", err)
		os.Exit(1)
	}
}

// run tells the story, printing to out.
func run(ctx context.Context, out io.Writer) (err error) {
	t := &transcript{w: out}
	engine, err := push.New(push.Config{BatchWindow: 250 * time.Millisecond, MaxErrors: 2, IDPrefix: "push-", IDSecret: "example"})
	if err != nil {
		return err
	}
	bus := &Bus{}
	srv := NewServer(bus)
	srv.Log = t.printf

	// The connection to the push service: a pipe whose far end is the fake
	// service, which fails every publish to the tablet's stale node.
	serverEnd, serviceEnd := net.Pipe()
	service := NewPushService(tap{serviceEnd, t}, PushServiceConfig{
		JID:    pushJID,
		Errors: map[string]*events.StanzaError{"stale-node": {Type: "cancel", Condition: "item-not-found"}},
	})
	defer func() {
		if cerr := service.Close(); err == nil {
			err = cerr
		}
	}()
	adapter, err := NewAdapter(ctx, AdapterConfig{Engine: engine, Bus: bus, Host: srv, Push: serverEnd})
	if err != nil {
		serverEnd.Close()
		return err
	}
	defer func() {
		if cerr := adapter.Close(); err == nil {
			err = cerr
		}
	}()
	// answered waits until the push service has answered n publishes in all
	// and the engine has taken the answers in.
	answered := func(n int) error {
		return waitFor(ctx, fmt.Sprintf("%d answered publishes", n), func() bool { return adapter.Client().Stats().Answered >= n })
	}
	message := func(to, id, body string) ServerStanza {
		return srv.Stanza(fmt.Sprintf("<message from='%s' to='%s' type='chat' id='%s'><body>%s</body></message>", romeo, to, id, body))
	}

	t.say("Juliet's phone binds a session and enables push with a secret.")
	srv.Bind(phone)
	bus.Publish(TopicIQPush, IQRequest{Session: phone, ID: "e1", XML: []byte(
		`<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='` + pushJID + `' node='yxs32uqsflafdk3iuqo'>` +
			`<x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
			`<field var='secret'><value>eruio234vzxc2kla-91</value></field></x></enable></iq>`)})

	t.say("The phone's connection dies: the session hibernates, for longer than usual.")
	bus.Publish(TopicHibernationStart, SmacksQueue{Session: phone})

	t.say("Romeo writes. The message is queued for the phone and archived; it is pushed once, after the batch window.")
	m1 := message(phone, "m1", "Are you up?")
	bus.Publish(TopicStanzaQueued, QueuedStanza{Session: phone, Stanza: m1})
	bus.Publish(TopicArchiveAdded, UserStanza{User: user, Stanza: m1})
	if err := answered(1); err != nil {
		return err
	}

	t.say("Two more messages within the batch window: one push.")
	bus.Publish(TopicStanzaQueued, QueuedStanza{Session: phone, Stanza: message(phone, "m2", "Juliet?")})
	bus.Publish(TopicStanzaQueued, QueuedStanza{Session: phone, Stanza: message(phone, "m3", "Hello?")})
	if err := answered(2); err != nil {
		return err
	}

	t.say("The phone resumes its session, then goes away for good.")
	bus.Publish(TopicHibernationEnd, SessionInfo{JID: phone})
	bus.Publish(TopicSessionClosed, SessionInfo{JID: phone})

	t.say("An old tablet enables push with a node the push service has forgotten, and leaves.")
	srv.Bind(tablet)
	bus.Publish(TopicIQPush, IQRequest{Session: tablet, ID: "e2", XML: []byte(
		`<iq type='set' id='e2'><enable xmlns='urn:xmpp:push:0' jid='` + pushJID + `' node='stale-node'/></iq>`)})
	bus.Publish(TopicSessionClosed, SessionInfo{JID: tablet})

	for i, step := range []string{
		"An offline message wakes both registrations; the tablet's push fails.",
		"Another one: the tablet's push fails again, the second error in a row (MaxErrors is 2), and its registration is removed.",
	} {
		t.say(step)
		body := []string{"Call me", "Please"}[i]
		bus.Publish(TopicOfflineStore, UserStanza{User: user, Stanza: message(user, fmt.Sprintf("o%d", i+1), body)})
		if err := answered(4 + 2*i); err != nil {
			return err
		}
	}

	regs, err := engine.Config().Store.Load(ctx, user)
	if err != nil {
		return err
	}
	t.say(fmt.Sprintf("Juliet has %d registration(s) left:", len(regs)))
	for _, r := range regs {
		t.printf("store    %s", r.ID)
	}

	t.say("The server shuts down: the adapter closes.")
	if err := adapter.Close(); err != nil {
		return err
	}
	s := adapter.Client().Stats()
	t.printf("client   sent %d, answered %d, unmatched %d, expired %d, pending %d", s.Sent, s.Answered, s.Unmatched, s.Expired, s.Pending)
	return nil
}

// waitFor polls cond until it holds, failing after a few seconds or when
// ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// transcript prints lines from any goroutine.
type transcript struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *transcript) say(text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "\n%s\n", text)
}

func (t *transcript) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "  "+format+"\n", args...)
}

// tap wraps the push service's end of the connection and prints the
// traffic: "push ←" what the server sends to the service, "push →" what the
// service answers (as "phone ←" is what the server writes to the phone).
// The service reads and answers one publish after the other on a single
// goroutine, so the lines come in the order of the exchange. (A read on a
// net.Pipe returns at most what one write wrote.)
type tap struct {
	io.ReadWriteCloser
	t *transcript
}

func (c tap) Read(p []byte) (int, error) {
	n, err := c.ReadWriteCloser.Read(p)
	if s := strings.TrimSpace(string(p[:n])); s != "" {
		c.t.printf("push     ← %s", s)
	}
	return n, err
}

func (c tap) Write(p []byte) (int, error) {
	c.t.printf("push     → %s", p)
	return c.ReadWriteCloser.Write(p)
}
