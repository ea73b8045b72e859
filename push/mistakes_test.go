package push

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// The regression tests of the hostile-input and host-mistake issue, one
// per item, named after it.

// Item 2: an answer from another address than the publish's service is
// ignored without taking the publish, so the genuine answer that follows
// still counts: forged answers can neither keep a dead registration nor
// remove a healthy one.
func TestForgedAnswerBeforeGenuine(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 3, PublishTimeout: time.Hour})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	forge := func(now time.Time, p Publish, errType string) {
		ev := events.PublishResult{Now: now, ID: p.ID, From: "evil.example"}
		if errType != "" {
			ev.Error = &events.StanzaError{Type: errType, Condition: "item-not-found"}
		}
		h.must(h.e.Handle(context.Background(), ev))
	}
	for i := range 3 {
		p := h.offline(at(float64(1+i)), h.chat("x")).Publishes[0]
		forge(at(float64(1+i)), p, "") // a forged success before each genuine error
		h.respond(at(float64(1+i)), p, "cancel", "item-not-found")
	}
	if got := h.registrations(); len(got) != 0 {
		t.Fatalf("three genuine errors behind forged successes did not remove the registration: %v", got)
	}
	if n := h.e.Stats().AnswersForeign; n != 3 {
		t.Errorf("AnswersForeign = %d, want 3", n)
	}

	h.open(at(10), phone)
	h.enable(at(10), phone, "B")
	h.close(at(10), phone)
	for i := range 5 {
		p := h.offline(at(float64(11+i)), h.chat("x")).Publishes[0]
		forge(at(float64(11+i)), p, "cancel") // a forged error before each genuine success
		h.respond(at(float64(11+i)), p, "", "")
	}
	if got := h.registrations(); len(got) != 1 {
		t.Fatalf("forged errors removed a healthy registration: %v", got)
	}
}

// Item 2: publish ids are sealed with the engine's key. Changing any
// character of a genuine id gives an id the engine does not know, and two
// engines with different keys make different ids from the same events.
func TestPublishIDsUnguessable(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 1, IDPrefix: "p-"})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	p := h.offline(at(1), h.chat("x")).Publishes[0]
	for i := len("p-"); i < len(p.ID); i++ {
		for _, c := range []byte("AQgw_-09") {
			if c == p.ID[i] {
				continue
			}
			forged := p
			forged.ID = p.ID[:i] + string(c) + p.ID[i+1:]
			h.respond(at(1), forged, "cancel", "item-not-found")
		}
	}
	if got := h.registrations(); len(got) != 1 {
		t.Fatalf("an altered id was taken for the genuine one: %v", got)
	}
	other := newHarness(t, Config{MaxErrors: 1, IDPrefix: "p-"})
	other.open(at(0), phone)
	other.enable(at(0), phone, "A")
	other.close(at(0), phone)
	if q := other.offline(at(1), other.chat("x")).Publishes[0]; q.ID == p.ID {
		t.Errorf("two engines with random keys made the same id %s", p.ID)
	}
	h.respond(at(1), p, "cancel", "item-not-found")
	if got := h.registrations(); len(got) != 0 {
		t.Fatalf("the genuine id was not matched: %v", got)
	}
}

// Item 5: Driver.Handle(ctx, nil) is an invalid event, not a panic.
func TestDriverHandleNil(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	drv, err := NewDriver(e, DriverConfig{Sender: SenderFunc(func(context.Context, Publish) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if err := drv.Handle(context.Background(), nil); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("Handle(nil) = %v", err)
	}
	if _, err := e.Handle(context.Background(), nil); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("Engine.Handle(nil) = %v", err)
	}
}

// Item 6: an answer without From counts nothing (it cannot be told from a
// forgery), is logged at warning level and counted.
func TestAnswerWithoutFrom(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 1})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	p := h.offline(at(1), h.chat("x")).Publishes[0]
	h.must(h.e.Handle(context.Background(), events.PublishResult{Now: at(1), ID: p.ID,
		Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found"}}))
	if n := h.e.Stats().AnswersWithoutFrom; n != 1 {
		t.Errorf("AnswersWithoutFrom = %d, want 1", n)
	}
	h.respond(at(1), p, "cancel", "item-not-found") // the publish is still pending
	if got := h.registrations(); len(got) != 0 {
		t.Errorf("the answer with From did not count after one without: %v", got)
	}
}

// Item 7: a host that misses a Wake does not leave the batch stuck: the
// session's next queued stanza past the due time processes it.
func TestMissedWake(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(0), phone)
	if d := h.queued(at(1), phone, h.chat("first")); d.Wake.IsZero() {
		t.Fatal("no wake asked")
	}
	// The host never calls Wake at 2 s.
	d := h.queued(at(5), phone, h.chat("second"))
	if got := pushes(d); len(got) != 1 || got[0] != "A:New Message!" {
		t.Fatalf("the overdue batch was not pushed by the next event: %v", got)
	}
	if d.Wake.IsZero() {
		t.Fatal("the new batch asked for no wake")
	}
	if got := pushes(h.e.Wake(context.Background(), d.Wake)); len(got) != 1 {
		t.Errorf("the second stanza's own batch: %v", got)
	}
}

// Item 8: one event stamped a year ahead does not wedge its user's batches
// nor stop the sweep of the shard.
func TestFutureEvent(t *testing.T) {
	h := newHarness(t, Config{DedupWindow: time.Hour})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(0), phone)
	year := 365 * 24 * time.Hour
	if d := h.queued(epoch.Add(year), phone, h.chat("from the future")); d.Wake.IsZero() {
		t.Fatal("no batch opened")
	}
	d := h.queued(at(10), phone, h.chat("now"))
	if d.Wake.IsZero() || d.Wake.After(at(11)) {
		t.Fatalf("a batch due a year ahead kept its due time: wake %v", d.Wake)
	}
	if got := pushes(h.e.Wake(context.Background(), d.Wake)); len(got) != 1 {
		t.Fatalf("the batch was not pushed a window after the clock came back: %v", got)
	}
	// The shard still sweeps: the user's marks go after the window.
	h.close(at(20), phone)
	h.e.Sweep(at(20).Add(2 * time.Hour))
	if st := h.e.Stats(); st.Marks != 0 {
		t.Errorf("marks not swept after the future event: %+v", st)
	}
}

// Item 9: unanswered publishes expire with a trace: counted in Stats.
func TestUnansweredPublishesCounted(t *testing.T) {
	h := newHarness(t, Config{PublishTimeout: time.Minute})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	p := h.offline(at(1), h.chat("x")).Publishes[0]
	q := h.offline(at(2), h.chat("y")).Publishes[0]
	h.e.ForgetPublish(q.ID)
	h.e.Sweep(at(120))
	st := h.e.Stats()
	if st.PublishesExpired != 1 || st.PublishesForgotten != 1 || st.PendingPublishes != 0 {
		t.Errorf("stats %+v", st)
	}
	h.respond(at(121), p, "cancel", "x")
	if h.e.Stats().AnswersUnknown != 1 {
		t.Error("a late answer was not counted as unknown")
	}
}

// Item 10: a bare JID as a session is refused; events for sessions never
// opened are counted.
func TestUnknownAndBareSessions(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	for _, ev := range []events.Event{
		events.SessionOpened{Now: at(0), Session: juliet},
		events.StanzaQueued{Now: at(0), Session: "juliet@example.org/"},
		events.HibernationStarted{Now: at(0), Session: "/phone"},
	} {
		if _, err := h.e.Handle(ctx, ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%+v: err = %v, want ErrInvalidEvent", ev, err)
		}
	}
	for _, ev := range []events.Event{
		events.StanzaQueued{Now: at(0), Session: phone, Stanza: h.chat("x")},
		events.HibernationEnded{Now: at(0), Session: phone},
		events.SessionClosed{Now: at(0), Session: phone},
	} {
		h.must(h.e.Handle(ctx, ev))
	}
	if n := h.e.Stats().UnknownSessions; n != 3 {
		t.Errorf("UnknownSessions = %d, want 3", n)
	}
}

// Item 11: one user's sessions are bounded and found in constant time.
func TestSessionsBounded(t *testing.T) {
	h := newHarness(t, Config{MaxSessionsPerUser: 100})
	for i := range 100 {
		h.open(at(0), fmt.Sprintf("%s/r%d", juliet, i))
	}
	_, err := h.e.Handle(context.Background(), events.SessionOpened{Now: at(0), Session: juliet + "/one-too-many"})
	var le *LimitError
	if !errors.Is(err, ErrLimit) || !errors.As(err, &le) || le.Limit != "MaxSessionsPerUser" {
		t.Fatalf("session 101: %v", err)
	}
	if st := h.e.Stats(); st.Sessions != 100 || st.SessionsRefused != 1 {
		t.Errorf("stats %+v", st)
	}
	h.enable(at(1), juliet+"/r77", "A")
	if id, ok := h.e.Binding(juliet + "/r77"); !ok || id.Node() != "A" {
		t.Errorf("session 77 among 100 not found: %v %v", id, ok)
	}
}

// Item 12: batch timers do not pile up while the clock stands still: a
// session holds at most one.
func TestBatchTimersBounded(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	for range 10000 {
		h.hibernate(at(1), phone)
		h.queued(at(1), phone, h.chat("x"))
		h.must(h.e.HibernationEnd(context.Background(), events.HibernationEnded{Now: at(1), Session: phone}))
	}
	sh, _ := h.e.shard(juliet)
	sh.mu.Lock()
	n := len(sh.timers)
	sh.mu.Unlock()
	if n > 1 {
		t.Errorf("%d batch timers for one session", n)
	}
}

// BenchmarkManySessions measures an event for one session of a user with
// 1000 sessions: found through the user's index, not a scan.
func BenchmarkManySessions(b *testing.B) {
	e, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 1000 {
		if _, err := e.Handle(ctx, events.SessionOpened{Now: epoch, Session: fmt.Sprintf("%s/r%d", juliet, i)}); err != nil {
			b.Fatal(err)
		}
	}
	var d Decisions
	ev := events.Event(events.HibernationEnded{Now: epoch, Session: juliet + "/r999"})
	b.ReportAllocs()
	for b.Loop() {
		if err := e.HandleInto(ctx, ev, &d); err != nil {
			b.Fatal(err)
		}
	}
}

// Item 1: every (jid, node) pair is its own registration, even with a '<'
// in the service JID's resource: publishes go to the JID the client named,
// and a disable with the enable's jid and node removes exactly it.
func TestAmbiguousIdentifier(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.open(at(0), tablet)
	for _, x := range []struct{ session, xml string }{
		{phone, `<enable xmlns='urn:xmpp:push:0' jid='push.example.net/a&lt;b' node='c'/>`},
		{tablet, `<enable xmlns='urn:xmpp:push:0' jid='push.example.net/a' node='b&lt;c'/>`},
	} {
		if d := h.iq(at(0), x.session, x.xml); d.Replies[0].Error != nil {
			t.Fatalf("enable %s: %v", x.xml, d.Replies[0].Error)
		}
	}
	if got := h.registrations(); len(got) != 2 {
		t.Fatalf("two different pairs collided: %v", got)
	}
	d := h.hibernate(at(1), phone, h.chat("x"))
	if len(d.Publishes) != 1 || d.Publishes[0].To() != "push.example.net/a<b" || d.Publishes[0].Node() != "c" {
		t.Fatalf("publish %+v", d.Publishes)
	}
	h.iq(at(2), tablet, `<disable xmlns='urn:xmpp:push:0' jid='push.example.net/a&lt;b' node='c'/>`)
	if _, ok := h.e.Binding(phone); ok {
		t.Error("the phone is still bound after the disable of its pair")
	}
	got := h.registrations()
	if len(got) != 1 || got[0].JID() != "push.example.net/a" || got[0].Node() != "b<c" {
		t.Errorf("the disable removed the wrong pair: %v", got)
	}
}

// Item 3: service JIDs that route to the user's own account in another
// form are refused as the user's own; code points PRECIS forbids are
// malformed.
func TestEquivalentOwnJIDs(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	for _, x := range []struct {
		jid  string
		want *events.StanzaError
	}{
		{"ｊｕｌｉｅｔ@example.org", errOwnJID},
		{"juliet@ＥＸＡＭＰＬＥ.ORG", errOwnJID},
		{"juliet@example。org", errOwnJID},
		{"JULIET@example．org/other", errOwnJID},
		{"example｡org", errOwnJID},
		{"jul\u00adiet@example.org", errJIDMalformed},
		{"jul\u200biet@example.org", errJIDMalformed},
		{"push.example.net", nil},
	} {
		d := h.iq(at(0), phone, "<enable xmlns='urn:xmpp:push:0' jid='"+x.jid+"' node='n'/>")
		if got := d.Replies[0].Error; !sameStanzaError(got, x.want) {
			t.Errorf("enable jid=%q: %v, want %v", x.jid, got, x.want)
		}
	}
}

// Another node removed a registration: RegistrationsChanged (for the user,
// or for all users after lost notices) unbinds this node's sessions bound
// to it and gives a hibernating one its normal timeout back.
func TestRegistrationsChangedElsewhere(t *testing.T) {
	for _, all := range []bool{false, true} {
		h := newHarness(t, Config{})
		h.open(at(0), phone)
		h.open(at(0), tablet)
		h.enable(at(0), phone, "A")
		h.enable(at(0), tablet, "B")
		h.hibernate(at(1), phone)
		// Another node disables A in the shared store.
		if _, err := h.store.Store.Delete(context.Background(), juliet, "push.example.net<A"); err != nil {
			t.Fatal(err)
		}
		ev := events.RegistrationsChanged{Now: at(2), User: juliet}
		if all {
			ev = events.RegistrationsChanged{Now: at(2), All: true}
		}
		d := h.must(h.e.Handle(context.Background(), ev))
		if got := timeouts(d); len(got) != 1 || got[0] != 10*time.Minute {
			t.Errorf("all=%v: timeouts %v", all, got)
		}
		if _, ok := h.e.Binding(phone); ok {
			t.Errorf("all=%v: phone still bound to a registration removed elsewhere", all)
		}
		if id, ok := h.e.Binding(tablet); !ok || id.Node() != "B" {
			t.Errorf("all=%v: tablet lost its binding: %v %v", all, id, ok)
		}
		if got := pushes(h.queued(at(3), phone, h.chat("x"))); len(got) != 0 {
			t.Errorf("all=%v: pushed to a removed registration: %v", all, got)
		}
	}
}
