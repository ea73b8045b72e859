package main

// This file tests the PushClient against a far end the test plays.

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// farEnd is the push service's end of a pipe, driven by hand: it discards
// what the client writes until closed.
type farEnd struct {
	net.Conn
	wg sync.WaitGroup
}

func newPipe(t *testing.T, drain bool) (client net.Conn, far *farEnd) {
	client, conn := net.Pipe()
	far = &farEnd{Conn: conn}
	if drain {
		far.wg.Add(1)
		go func() {
			defer far.wg.Done()
			io.Copy(io.Discard, conn)
		}()
	}
	t.Cleanup(func() {
		conn.Close()
		far.wg.Wait()
	})
	return client, far
}

func (f *farEnd) answer(t *testing.T, res events.PublishResult) {
	t.Helper()
	if _, err := f.Write(appendAnswer(nil, res, "example.org")); err != nil {
		t.Fatal(err)
	}
}

// results collects what a PushClient hands on.
type results struct {
	mu  sync.Mutex
	got []events.PublishResult
}

func (r *results) add(res events.PublishResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, res)
}

func (r *results) list() []events.PublishResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.PublishResult(nil), r.got...)
}

func publish(id string) push.Publish {
	return push.Publish{ID: id, User: user, Registration: registry.NewIdentifier(pushJID, "n1")}
}

func TestPushClientForgetsUnansweredPublishes(t *testing.T) {
	ctx := context.Background()
	conn, far := newPipe(t, true)
	var res results
	var mu sync.Mutex
	var expired []string
	c := NewPushClient(conn, PushClientConfig{Timeout: 30 * time.Millisecond, OnAnswer: res.add, OnExpire: func(id string) {
		mu.Lock()
		defer mu.Unlock()
		expired = append(expired, id)
	}})
	defer c.Close()
	if err := c.Send(ctx, publish("a")); err != nil {
		t.Fatal(err)
	}
	// Stats count the expiry before OnExpire runs (outside the client's
	// lock), so wait for the callback itself.
	waitUntil(t, "OnExpire to run", func() bool { mu.Lock(); defer mu.Unlock(); return len(expired) > 0 })
	if s := c.Stats(); s.Expired != 1 || s.Pending != 0 {
		t.Errorf("Stats after expiry: Expired %d, Pending %d; want 1, 0", s.Expired, s.Pending)
	}
	mu.Lock()
	if len(expired) != 1 || expired[0] != "a" {
		t.Errorf("OnExpire got %q, want [a]", expired)
	}
	mu.Unlock()
	// A late answer is dropped: it matches nothing any more.
	far.answer(t, events.PublishResult{ID: "a", From: pushJID})
	waitUntil(t, "the late answer to be dropped", func() bool { return c.Stats().Unmatched == 1 })
	if got := res.list(); len(got) != 0 {
		t.Errorf("late answer handed on: %+v", got)
	}
}

func TestPushClientMatchesAnswers(t *testing.T) {
	ctx := context.Background()
	conn, far := newPipe(t, true)
	var res results
	c := NewPushClient(conn, PushClientConfig{Timeout: time.Hour, OnAnswer: res.add})
	defer c.Close()
	for _, id := range []string{"a", "b"} {
		if err := c.Send(ctx, publish(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(ctx, publish("a")); err == nil {
		t.Error("a second publish with a waiting id was accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Send(cancelled, publish("c")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
	// Stanzas that are no answers are skipped; answers come in any order.
	if _, err := far.Write([]byte(`<message from='x'/><iq type='get' id='a'/>`)); err != nil {
		t.Fatal(err)
	}
	far.answer(t, events.PublishResult{ID: "b", From: pushJID, Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found", Text: "gone"}})
	far.answer(t, events.PublishResult{ID: "a", From: pushJID})
	waitUntil(t, "both answers", func() bool { return c.Stats().Answered == 2 })
	got := res.list()
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "a" || got[1].Error != nil || got[0].From != pushJID {
		t.Fatalf("answers handed on: %+v", got)
	}
	if e := got[0].Error; e == nil || *e != (events.StanzaError{Type: "cancel", Condition: "item-not-found", Text: "gone"}) {
		t.Errorf("error = %+v", e)
	}
	if s := c.Stats(); s != (PushClientStats{Sent: 2, Answered: 2}) {
		t.Errorf("stats = %+v", s)
	}
	// Malformed XML ends the stream: sending fails from then on.
	if _, err := far.Write([]byte(`<iq type='result' id='x'></oops>`)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stream to fail", func() bool { return c.Err() != nil })
	if err := c.Send(ctx, publish("d")); err == nil {
		t.Error("Send on a failed stream succeeded")
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if err := c.Send(ctx, publish("e")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

// TestPushClientGarbage feeds the client's reader what a broken or hostile
// push service might send: elements that are no answers are skipped (the
// answer after them still matches), malformed or oversized XML ends the
// stream.
func TestPushClientGarbage(t *testing.T) {
	const stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
	deep := strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100) // deeper than any limit
	for _, tc := range []struct {
		name, in string
		skipped  bool // else the stream ends
		hangUp   bool // the service closes the stream after in
	}{
		{"message", `<message from='x'><body>hi <b>there</b></body></message>`, true, false},
		{"iq get", `<iq type='get' id='a'><query xmlns='urn:example'><item/></query></iq>`, true, false},
		{"iq set", `<iq type='set' id='a'/>`, true, false},
		{"text and comments", "\n <!-- c --><?pi x?>", true, false},
		{"too deep", `<iq type='result' id='a'>` + deep + `</iq>`, true, false},
		{"too deep error", `<iq type='error' id='a'><error type='cancel'>` + deep + `</error></iq>`, true, false},
		// A long text is cut, the answer kept (here it answers no publish).
		{"long text", `<iq type='error' id='z'><error type='cancel'><text xmlns='` + stanzas + `'>` + strings.Repeat("x", 2000) + `</text></error></iq>`, true, false},
		{"stream header", `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='` + pushJID + `'>`, true, false},
		{"mismatched tags", `<iq type='result' id='a'><a></b></iq>`, false, false},
		{"stray end tag", `</iq>`, false, false},
		{"not xml", `<<<`, false, false},
		{"bad character", "<iq type='result' id='\x00'/>", false, false},
		{"too large", `<iq type='result' id='a'>` + strings.Repeat("x", 2*push.MaxResultSize) + `</iq>`, false, false},
		{"closed", "", false, true},
		{"closed within an answer", `<iq type='result' id='a'><x>`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, far := newPipe(t, true)
			var res results
			c := NewPushClient(conn, PushClientConfig{Timeout: time.Hour, OnAnswer: res.add})
			defer c.Close()
			if err := c.Send(context.Background(), publish("a")); err != nil {
				t.Fatal(err)
			}
			// A write the client stops reading in the middle of ends when
			// Close closes the pipe.
			far.wg.Go(func() {
				_, err := far.Write([]byte(tc.in))
				switch {
				case tc.hangUp:
					far.Close()
				case err == nil && tc.skipped:
					far.Write(appendAnswer(nil, events.PublishResult{ID: "a", From: pushJID}, "example.org"))
				}
			})
			if tc.skipped {
				waitUntil(t, "the answer after the garbage", func() bool { return c.Stats().Answered == 1 })
				if err := c.Err(); err != nil {
					t.Errorf("stream failed: %v", err)
				}
				if got := res.list(); len(got) != 1 || got[0].ID != "a" || got[0].Error != nil {
					t.Errorf("answers handed on: %+v", got)
				}
				return
			}
			waitUntil(t, "the stream to fail", func() bool { return c.Err() != nil })
			t.Logf("stream failed: %v", c.Err())
			if err := c.Send(context.Background(), publish("b")); err == nil {
				t.Error("Send on a failed stream succeeded")
			}
			if s := c.Stats(); s.Answered != 0 || s.Pending != 1 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

// TestAppendAnswer checks that the fake push service writes answers the
// library reads back as they were meant.
func TestAppendAnswer(t *testing.T) {
	for _, res := range []events.PublishResult{
		{ID: "p1", From: pushJID},
		{ID: "a&b'<\"", From: "x>y"},
		{ID: "p2", From: pushJID, Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found", Text: "No such node & <gone>"}},
		{ID: "p3", Error: &events.StanzaError{Type: "wait", Condition: "resource-constraint"}},
	} {
		data := appendAnswer(nil, res, "example.org")
		got, err := push.ParseResult(data)
		if err != nil {
			t.Errorf("ParseResult(%s): %v", data, err)
			continue
		}
		if got.ID != res.ID || got.From != res.From || (got.Error == nil) != (res.Error == nil) || (got.Error != nil && *got.Error != *res.Error) {
			t.Errorf("ParseResult(%s) = %+v (%v), want %+v (%v)", data, got, got.Error, res, res.Error)
		}
	}
	// An error without type or condition reads as cancel, undefined-condition.
	got, err := push.ParseResult(appendAnswer(nil, events.PublishResult{ID: "p4", Error: &events.StanzaError{}}, ""))
	if err != nil || got.Error == nil || *got.Error != (events.StanzaError{Type: "cancel", Condition: "undefined-condition"}) {
		t.Errorf("empty error reads as %+v, %v", got.Error, err)
	}
}

// TestUnansweredPublishForgottenByEngine: when the PushClient gives up on
// a publish, the engine forgets it too, long before its own PublishTimeout.
func TestUnansweredPublishForgottenByEngine(t *testing.T) {
	f := newFixture(t, push.Config{}, PushServiceConfig{Silent: map[string]bool{"n1": true}},
		func(c *AdapterConfig) { c.AnswerTimeout = 30 * time.Millisecond })
	f.srv.Bind(phone)
	f.bus.Publish(TopicIQPush, enableIQ("e1", "n1"))
	f.bus.Publish(TopicHibernationStart, SmacksQueue{Session: phone, Queue: []ServerStanza{chat(f.srv, phone, "now")}})
	waitUntil(t, "the publish to arrive", func() bool { return len(f.service.Received()) == 1 })
	waitUntil(t, "the client to give up", func() bool { return f.adapter.Client().Stats().Expired == 1 })
	waitUntil(t, "the engine to forget the publish", func() bool { return f.engine.Stats().PendingPublishes == 0 })
}

// TestFailedSendForgottenByEngine: a publish the PushClient refuses (here,
// the push stream failed) is not left pending in the engine either.
func TestFailedSendForgottenByEngine(t *testing.T) {
	f := newFixture(t, push.Config{}, PushServiceConfig{})
	f.srv.Bind(phone)
	f.bus.Publish(TopicIQPush, enableIQ("e1", "n1"))
	if err := f.service.Close(); err != nil { // the service goes away
		t.Fatal(err)
	}
	waitUntil(t, "the stream to fail", func() bool { return f.adapter.Client().Err() != nil })
	f.bus.Publish(TopicHibernationStart, SmacksQueue{Session: phone, Queue: []ServerStanza{chat(f.srv, phone, "now")}})
	if s := f.adapter.Client().Stats(); s.Sent != 0 {
		t.Errorf("client stats = %+v, want nothing sent", s)
	}
	if n := f.engine.Stats().PendingPublishes; n != 0 {
		t.Errorf("engine holds %d pending publishes, want 0", n)
	}
}

func TestPushClientCongestedAndCloseUnblocksWrite(t *testing.T) {
	conn, _ := newPipe(t, false) // nobody reads: the first write blocks
	c := NewPushClient(conn, PushClientConfig{QueueSize: 1})
	var err error
	for i := 0; i < 3 && err == nil; i++ {
		err = c.Send(context.Background(), publish(string(rune('a'+i))))
	}
	if !errors.Is(err, ErrCongested) {
		t.Errorf("Send with a full queue = %v, want ErrCongested", err)
	}
	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a write was blocked")
	}
}
