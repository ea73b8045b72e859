package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushrules/pushrules/events"
)

// snapshot is what must survive a failed operation: the stored
// registrations (with their error counts) and the sessions' bindings.
type snapshot struct {
	regs     []string
	bindings []string
}

func (h *harness) snapshot(sessions ...string) snapshot {
	h.t.Helper()
	regs, err := h.store.Store.Load(context.Background(), juliet)
	if err != nil {
		h.t.Fatal(err)
	}
	var s snapshot
	for _, r := range regs {
		s.regs = append(s.regs, fmt.Sprintf("%s errors=%d", r.ID, r.Errors))
	}
	for _, sess := range sessions {
		id, ok := h.e.Binding(sess)
		s.bindings = append(s.bindings, fmt.Sprintf("%s=%s/%v", sess, id, ok))
	}
	return s
}

func (s snapshot) String() string {
	return strings.Join(s.regs, ", ") + " | " + strings.Join(s.bindings, ", ")
}

// TestFaultInjection runs every handler that touches the store while reads
// or writes fail, and checks that the stored registrations and the
// bindings are exactly as before, and that the engine works once the fault
// clears.
func TestFaultInjection(t *testing.T) {
	ctx := context.Background()
	ops := []struct {
		name string
		run  func(h *harness, now time.Time) Decisions
	}{
		{"enable new", func(h *harness, now time.Time) Decisions { return h.iq(now, tablet, enableXML("C")) }},
		{"enable again", func(h *harness, now time.Time) Decisions { return h.iq(now, phone, enableXML("A")) }},
		{"disable node", func(h *harness, now time.Time) Decisions {
			return h.iq(now, tablet, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/>")
		}},
		{"disable service", func(h *harness, now time.Time) Decisions {
			return h.iq(now, tablet, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>")
		}},
		{"offline", func(h *harness, now time.Time) Decisions { return h.offline(now, h.chat("x")) }},
		{"archived", func(h *harness, now time.Time) Decisions { return h.archived(now, h.chat("x")) }},
		{"ping", func(h *harness, now time.Time) Decisions {
			d, _ := h.e.Handle(ctx, events.Ping{Now: now, User: juliet})
			return d
		}},
		{"user deleted", func(h *harness, now time.Time) Decisions {
			d, _ := h.e.Handle(ctx, events.UserDeleted{Now: now, User: juliet})
			return d
		}},
		{"publish error at max", func(h *harness, now time.Time) Decisions {
			return h.respond(now, h.lastB, "cancel", "item-not-found")
		}},
		{"publish success", func(h *harness, now time.Time) Decisions { return h.respond(now, h.lastB, "", "") }},
		{"hibernate and queue", func(h *harness, now time.Time) Decisions {
			h.hibernate(now, phone)
			h.queued(now, phone, h.chat("x"))
			return h.e.Wake(context.Background(), now.Add(time.Second))
		}},
	}
	// setup gives both harnesses the same state: phone bound to A, tablet to
	// B; B has one error and an unanswered publish.
	setup := func(t *testing.T) *harness {
		h := newHarness(t, Config{MaxErrors: 2})
		h.open(at(0), phone)
		h.open(at(0), tablet)
		h.enable(at(0), phone, "A")
		h.enable(at(0), tablet, "B")
		d := h.must(h.e.Handle(ctx, events.Ping{Now: at(1), User: juliet, Nodes: []string{"B"}}))
		h.respond(at(1), d.Publishes[0], "cancel", "item-not-found")
		d = h.must(h.e.Handle(ctx, events.Ping{Now: at(2), User: juliet, Nodes: []string{"B"}}))
		h.lastB = d.Publishes[0]
		return h
	}
	for _, op := range ops {
		for _, fault := range []string{"reads", "writes", "both"} {
			t.Run(op.name+"/"+fault, func(t *testing.T) {
				// The same operation without a fault gives the state it
				// leads to when it succeeds.
				twin := setup(t)
				op.run(twin, at(3))
				succeeded := twin.snapshot(phone, tablet)

				h := setup(t)
				before := h.snapshot(phone, tablet)
				h.store.reads.Store(fault != "writes")
				h.store.writes.Store(fault != "reads")
				d := op.run(h, at(3))
				h.store.reads.Store(false)
				h.store.writes.Store(false)
				after := h.snapshot(phone, tablet)
				if after.String() != before.String() && after.String() != succeeded.String() {
					t.Errorf("a failed operation left a state that is neither before nor after it:\nbefore    %s\nsucceeded %s\ngot       %s", before, succeeded, after)
				}
				for _, r := range d.Replies {
					if r.Error != nil && !sameStanzaError(r.Error, errStorage) {
						t.Errorf("reply %v, want %v or a result", r.Error, errStorage)
					}
					if r.Error == nil && after.String() != succeeded.String() {
						t.Errorf("a result reply for an operation that did not take effect")
					}
				}
				// Once the fault clears, the engine works.
				h.close(at(4), phone)
				h.close(at(4), tablet)
				want := len(after.regs)
				if got := h.offline(at(5), h.chat("after")); len(got.Publishes) != want {
					t.Errorf("after the fault: %d publishes, want %d (one per stored registration)", len(got.Publishes), want)
				}
			})
		}
	}
}

func enableXML(node string) string {
	return "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='" + node + "'/>"
}

// TestDriverSenderFaults runs the Driver with a Sender that fails, one that
// never answers and one that answers late.
func TestDriverSenderFaults(t *testing.T) {
	ctx := context.Background()
	now := epoch
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	e, err := New(Config{MaxErrors: 1, PublishTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var sent []Publish
	var sendErrs int
	fail := true
	drv, err := NewDriver(e, DriverConfig{
		Now: clock,
		Sender: SenderFunc(func(_ context.Context, p Publish) error {
			sent = append(sent, p)
			if fail {
				return fmt.Errorf("stream down")
			}
			return nil
		}),
		SendError: func(Publish, error) { sendErrs++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(drv.Handle(ctx, events.SessionOpened{Session: phone}))
	must(drv.Handle(ctx, events.IQ{Session: phone, ID: "e", Payload: []byte(enableXML("A"))}))
	must(drv.Handle(ctx, events.SessionClosed{Session: phone}))
	must(drv.Handle(ctx, events.OfflineMessage{User: juliet, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage, Body: "b"}}))
	if len(sent) != 1 || sendErrs != 1 {
		t.Fatalf("sent %d, send errors %d", len(sent), sendErrs)
	}
	// The send failed; the engine keeps working.
	fail = false
	must(drv.Handle(ctx, events.OfflineMessage{User: juliet, Stanza: events.Stanza{Key: 2, Kind: events.KindMessage, Body: "b"}}))
	if len(sent) != 2 {
		t.Fatalf("sent %d", len(sent))
	}
	// An answer after PublishTimeout is ignored: the registration stays.
	advance(2 * time.Minute)
	must(drv.Handle(ctx, events.PublishResult{ID: sent[1].ID, From: service, Error: &events.StanzaError{Type: "cancel", Condition: "gone"}}))
	if regs, _ := e.Config().Store.Load(ctx, juliet); len(regs) != 1 {
		t.Fatal("a late answer removed the registration")
	}
	// An answer in time counts (MaxErrors 1: removed).
	must(drv.Handle(ctx, events.OfflineMessage{User: juliet, Stanza: events.Stanza{Key: 3, Kind: events.KindMessage, Body: "b"}}))
	must(drv.Handle(ctx, events.PublishResult{ID: sent[2].ID, From: service, Error: &events.StanzaError{Type: "cancel", Condition: "gone"}}))
	if regs, _ := e.Config().Store.Load(ctx, juliet); len(regs) != 0 {
		t.Fatal("an answer in time was not counted")
	}
	drv.Close()
	if err := drv.Handle(ctx, events.SessionOpened{Session: phone}); err != ErrClosed {
		t.Fatalf("Handle after Close: %v", err)
	}
}

// TestDriverTimer checks, on synctest's virtual clock, that the Driver's
// real timer wakes the engine when a batch falls due (not before), and
// that Close leaves no goroutine behind (synctest.Test fails otherwise).
func TestDriverTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, err := New(Config{BatchWindow: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var sent []Publish
		got := func() []Publish { mu.Lock(); defer mu.Unlock(); return slices.Clone(sent) }
		drv, err := NewDriver(e, DriverConfig{Sender: SenderFunc(func(_ context.Context, p Publish) error {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, p)
			return nil
		})})
		if err != nil {
			t.Fatal(err)
		}
		defer drv.Close()
		ctx := context.Background()
		for _, ev := range []events.Event{
			events.SessionOpened{Session: phone},
			events.IQ{Session: phone, ID: "e", Payload: []byte(enableXML("A"))},
			events.HibernationStarted{Session: phone},
			events.StanzaQueued{Session: phone, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage, Body: "b"}},
		} {
			if err := drv.Handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if p := got(); len(p) != 0 {
			t.Fatalf("pushed before the batch fell due: %+v", p)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if p := got(); len(p) != 1 || !p[0].Important || p[0].Node() != "A" {
			t.Fatalf("when the batch fell due: %+v", p)
		}
		if err := drv.Handle(ctx, nil); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Handle(nil) = %v, want ErrInvalidEvent", err)
		}
	})
}

// TestPrivacyInLogs runs the engine at debug level and checks that neither
// publish-options secrets nor message bodies reach the log.
func TestPrivacyInLogs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, Config{Logger: logger, WithBody: true, MaxErrors: 1})
	const secret, body = "s3cr3t-t0ken", "the body text"
	h.open(at(0), phone)
	h.iq(at(0), phone, "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'><x xmlns='jabber:x:data' type='submit'>"+
		"<field var='secret'><value>"+secret+"</value></field></x></enable>")
	h.hibernate(at(1), phone, h.chat(body))
	h.store.reads.Store(true)
	h.offline(at(2), h.chat(body))
	h.iq(at(2), phone, enableXML("B"))
	h.store.reads.Store(false)
	d := h.offline(at(3), h.chat(body))
	h.respond(at(4), d.Publishes[0], "cancel", "item-not-found")
	h.iq(at(5), phone, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>")
	if buf.Len() == 0 {
		t.Fatal("nothing was logged: the test proves nothing")
	}
	for _, s := range []string{secret, body} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("log contains %q:\n%s", s, buf.String())
		}
	}
}

// TestIsolation: a user's requests only ever touch that user's
// registrations, and a push service answering from another JID cannot
// remove a registration.
func TestIsolation(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 1})
	rphone := "romeo@example.org/phone"
	h.open(at(0), phone)
	h.open(at(0), rphone)
	h.enable(at(0), phone, "A")
	h.enable(at(0), rphone, "A")
	h.iq(at(1), phone, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>")
	if regs, _ := h.store.Load(context.Background(), "romeo@example.org"); len(regs) != 1 {
		t.Fatal("juliet's disable removed romeo's registration")
	}
	d := h.must(h.e.Handle(context.Background(), events.Ping{Now: at(2), User: "romeo@example.org"}))
	h.must(h.e.Handle(context.Background(), events.PublishResult{Now: at(3), ID: d.Publishes[0].ID, From: "evil.example", Error: &events.StanzaError{Type: "cancel", Condition: "x"}}))
	if regs, _ := h.store.Load(context.Background(), "romeo@example.org"); len(regs) != 1 {
		t.Fatal("an answer from another JID removed the registration")
	}
}
