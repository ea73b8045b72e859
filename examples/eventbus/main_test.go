package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// waitUntil polls cond until it holds and fails the test after a few
// seconds: it bounds a wait, it never measures speed.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// fixture is a server, its bus, the adapter and a fake push service.
type fixture struct {
	engine  *push.Engine
	bus     *Bus
	srv     *Server
	service *PushService
	adapter *Adapter
}

func newFixture(t *testing.T, cfg push.Config, svc PushServiceConfig, opts ...func(*AdapterConfig)) *fixture {
	t.Helper()
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "push-"
	}
	engine, err := push.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if svc.JID == "" {
		svc.JID = pushJID
	}
	f := &fixture{engine: engine, bus: &Bus{}}
	f.srv = NewServer(f.bus)
	serverEnd, serviceEnd := net.Pipe()
	f.service = NewPushService(serviceEnd, svc)
	acfg := AdapterConfig{Engine: engine, Bus: f.bus, Host: f.srv, Push: serverEnd}
	for _, o := range opts {
		o(&acfg)
	}
	f.adapter, err = NewAdapter(context.Background(), acfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.adapter.Close(); err != nil {
			t.Error(err)
		}
		if err := f.service.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func enableIQ(id, node string) IQRequest {
	return IQRequest{Session: phone, ID: id, XML: []byte(
		`<iq type='set' id='` + id + `'><enable xmlns='urn:xmpp:push:0' jid='` + pushJID + `' node='` + node + `'>` +
			`<x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
			`<field var='secret'><value>s3cret</value></field></x></enable></iq>`)}
}

func chat(srv *Server, to, body string) ServerStanza {
	return srv.Stanza("<message from='" + romeo + "' to='" + to + "' type='chat'><body>" + body + "</body></message>")
}

func TestEnableOverBusRepliesOnSessionStream(t *testing.T) {
	f := newFixture(t, push.Config{}, PushServiceConfig{})
	stream := f.srv.Bind(phone)
	// The bus is synchronous: the reply is written before Publish returns.
	f.bus.Publish(TopicIQPush, enableIQ("e1", "n1"))
	if got, want := stream.String(), "<iq type='result' id='e1' to='"+phone+"'/>"; got != want {
		t.Errorf("phone stream = %s, want %s", got, want)
	}
	if id, ok := f.engine.Binding(phone); !ok || id.Node() != "n1" {
		t.Errorf("Binding(phone) = %q, %v; want node n1", id, ok)
	}
	// A pointer payload is accepted too; a bad request is answered with an error.
	f.bus.Publish(TopicIQPush, &IQRequest{Session: phone, ID: "e2", XML: []byte(`<iq type='set' id='e2'><enable xmlns='urn:xmpp:push:0'/></iq>`)})
	if got := stream.String(); !strings.Contains(got, "<iq type='error' id='e2'") || !strings.Contains(got, "<bad-request") {
		t.Errorf("phone stream = %s, want a bad-request error for e2", got)
	}
	// A payload of the wrong type is logged and ignored.
	f.bus.Publish(TopicIQPush, "not a request")
}

func TestQueuedStanzaYieldsOnePublish(t *testing.T) {
	f := newFixture(t, push.Config{BatchWindow: 20 * time.Millisecond}, PushServiceConfig{})
	f.srv.Bind(phone)
	f.bus.Publish(TopicIQPush, enableIQ("e1", "n1"))
	before := time.Now()
	f.bus.Publish(TopicHibernationStart, SmacksQueue{Session: phone})
	after := time.Now()
	if got := f.srv.HibernationTimeout(phone); got != f.engine.Config().MaxHibernationTimeout {
		t.Errorf("timeout at hibernation = %v, want %v", got, f.engine.Config().MaxHibernationTimeout)
	}
	// Counted from the event's time (push.Timeout.At), which the driver
	// stamped while the bus delivered it.
	if dl := f.srv.HibernationDeadline(phone).Add(-f.engine.Config().MaxHibernationTimeout); dl.Before(before) || dl.After(after) {
		t.Errorf("timeout counted from %v, want a time between %v and %v", dl, before, after)
	}
	m := chat(f.srv, phone, "one")
	f.bus.Publish(TopicStanzaQueued, QueuedStanza{Session: phone, Stanza: m})
	f.bus.Publish(TopicArchiveAdded, UserStanza{User: user, Stanza: m}) // bound to a session of the user: skipped

	client := f.adapter.Client()
	waitUntil(t, "the publish to be answered", func() bool { return client.Stats().Answered == 1 })
	// Nothing is left that could publish again: no pending batch.
	if w := f.engine.NextWake(); !w.IsZero() {
		t.Errorf("a batch is still pending, due at %v", w)
	}
	if s := client.Stats(); s.Sent != 1 || s.Pending != 0 {
		t.Errorf("client stats = %+v, want exactly one publish sent and none pending", s)
	}
	got := f.service.Received()
	if len(got) != 1 {
		t.Fatalf("push service received %d publishes, want 1: %+v", len(got), got)
	}
	p := got[0]
	if p.To != pushJID || p.From != "example.org" || p.Node != "n1" || !strings.HasPrefix(p.ID, "push-") {
		t.Errorf("publish addressed %+v", p)
	}
	if p.Options["secret"] != "s3cret" || p.Options["FORM_TYPE"] != "http://jabber.org/protocol/pubsub#publish-options" {
		t.Errorf("publish-options = %v", p.Options)
	}
	if p.Summary["FORM_TYPE"] != "urn:xmpp:push:summary" || p.Summary["last-message-body"] != f.engine.Config().ImportantBody {
		t.Errorf("summary = %v", p.Summary)
	}
	// The first important push cut the extended timeout back.
	if got := f.srv.HibernationTimeout(phone); got != f.engine.Config().HibernationTimeout {
		t.Errorf("timeout after the push = %v, want %v", got, f.engine.Config().HibernationTimeout)
	}
}

func TestPublishErrorsRemoveRegistration(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		err     *events.StanzaError
		removed bool
	}{
		{"cancel", &events.StanzaError{Type: "cancel", Condition: "item-not-found"}, true},
		{"wait", &events.StanzaError{Type: "wait", Condition: "resource-constraint"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const maxErrors = 3
			f := newFixture(t, push.Config{MaxErrors: maxErrors}, PushServiceConfig{Errors: map[string]*events.StanzaError{"n1": tc.err}})
			f.srv.Bind(phone)
			f.bus.Publish(TopicIQPush, enableIQ("e1", "n1"))
			f.bus.Publish(TopicHibernationStart, SmacksQueue{Session: phone})
			store := f.engine.Config().Store
			for i := 1; i <= maxErrors; i++ {
				// Offline pushes do not cut the extended timeout back.
				f.bus.Publish(TopicOfflineStore, UserStanza{User: user, Stanza: chat(f.srv, user, "hi")})
				waitUntil(t, "the error answer", func() bool { return f.adapter.Client().Stats().Answered == i })
				regs, err := store.Load(ctx, user)
				if err != nil {
					t.Fatal(err)
				}
				if i < maxErrors || !tc.removed {
					want := i
					if !tc.removed {
						want = 0
					}
					if len(regs) != 1 || regs[0].Errors != want {
						t.Fatalf("after %d errors the store holds %+v, want one registration with %d errors", i, regs, want)
					}
				} else if len(regs) != 0 {
					t.Fatalf("after %d errors the store holds %+v, want nothing", i, regs)
				}
			}
			_, bound := f.engine.Binding(phone)
			want := f.engine.Config().MaxHibernationTimeout
			if tc.removed {
				// Unbinding the hibernating session sets its timeout back.
				want = f.engine.Config().HibernationTimeout
			}
			if bound == tc.removed || f.srv.HibernationTimeout(phone) != want {
				t.Errorf("bound %v with timeout %v; want bound %v with timeout %v", bound, f.srv.HibernationTimeout(phone), !tc.removed, want)
			}
			if n := len(f.service.Received()); n != maxErrors {
				t.Errorf("push service received %d publishes, want %d", n, maxErrors)
			}
		})
	}
}

func TestAdapterClosesWithContext(t *testing.T) {
	engine, err := push.New(push.Config{})
	if err != nil {
		t.Fatal(err)
	}
	bus := &Bus{}
	conn, _ := newPipe(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := NewAdapter(ctx, AdapterConfig{Engine: engine, Bus: bus, Host: NewServer(bus), Push: conn})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the adapter did not close when its context ended")
	}
	if err := a.Client().Send(context.Background(), publish("a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after the context ended = %v, want ErrClosed", err)
	}
	bus.Publish(TopicSessionBound, SessionInfo{JID: phone}) // nobody listens any more
	if n := engine.Stats().Sessions; n != 0 {
		t.Errorf("engine saw %d sessions after the adapter closed", n)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		// A long batch window and a silent node: at Close, the driver's
		// timer is armed and a publish is waiting for its answer.
		f := newFixture(t, push.Config{BatchWindow: time.Hour}, PushServiceConfig{Silent: map[string]bool{"n1": true}})
		f.srv.Bind(phone)
		f.bus.Publish(TopicIQPush, enableIQ("e1", "n1"))
		f.bus.Publish(TopicHibernationStart, SmacksQueue{Session: phone, Queue: []ServerStanza{chat(f.srv, phone, "now")}})
		f.bus.Publish(TopicStanzaQueued, QueuedStanza{Session: phone, Stanza: chat(f.srv, phone, "later")})
		waitUntil(t, "the publish to arrive", func() bool { return len(f.service.Received()) == 1 })
		if f.engine.NextWake().IsZero() || f.adapter.Client().Stats().Pending != 1 {
			t.Fatal("expected a pending batch and a pending publish")
		}
		if err := f.adapter.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.service.Close(); err != nil {
			t.Fatal(err)
		}
		if s := f.adapter.Client().Stats(); s.Pending != 0 {
			t.Errorf("%d publishes still pending after Close", s.Pending)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Fatalf("%d goroutines before, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBus(t *testing.T) {
	var b Bus
	var mu sync.Mutex
	var got []string
	record := func(name string) func(any) {
		return func(p any) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, name+":"+p.(string))
		}
	}
	unsubA := b.Subscribe("t", record("a"))
	b.Subscribe("t", record("b"))
	b.Subscribe("other", record("c"))
	b.Publish("t", "1")
	unsubA()
	unsubA()
	b.Publish("t", "2")
	b.Publish("none", "3")
	if want := "a:1 b:1 b:2"; strings.Join(got, " ") != want {
		t.Errorf("delivered %q, want %q", strings.Join(got, " "), want)
	}
	// Concurrent use, for the race detector.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for j := 0; j < 50; j++ {
				u := b.Subscribe("t", func(any) {})
				b.Publish("t", "x")
				u()
			}
		})
	}
	wg.Wait()
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"phone    ← <iq type='result' id='e1' to='" + phone + "'/>",
		"smacks   " + phone + " may hibernate for 72h0m0s",
		"smacks   " + phone + " may hibernate for 10m0s",
		"<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>",
		"Juliet has 1 registration(s) left:",
		"store    push.example.net<yxs32uqsflafdk3iuqo",
		"client   sent 6, answered 6, unmatched 0, expired 0, pending 0",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("transcript lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "push     ← <iq type='set'"); n != 6 {
		t.Errorf("transcript shows %d publishes, want 6:\n%s", n, s)
	}
}
