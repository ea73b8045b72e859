package push

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

func TestNewConfig(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := e.Config()
	if c.ImportantBody != "New Message!" || c.MaxErrors != 16 || c.MaxDevices != 5 ||
		c.HibernationTimeout != 10*time.Minute || c.MaxHibernationTimeout != 72*time.Hour ||
		c.BatchWindow != time.Second || c.WithBody || c.WithSender || c.Store == nil || c.Logger == nil {
		t.Errorf("defaults: %+v", c)
	}
	for _, bad := range []Config{
		{MaxErrors: -1},
		{MaxDevices: -1},
		{BatchWindow: -time.Second},
		{HibernationTimeout: time.Hour, MaxHibernationTimeout: time.Minute},
		{ImportantBody: "x", EmptyImportantBody: true},
	} {
		if _, err := New(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

// R3, difference 1: enable validation and its error replies.
func TestEnableValidation(t *testing.T) {
	for _, tc := range []struct {
		name, xml string
		want      *events.StanzaError
	}{
		{"missing jid", "<enable xmlns='urn:xmpp:push:0' node='A'/>", errMissingJID},
		{"empty jid", "<enable xmlns='urn:xmpp:push:0' jid='' node='A'/>", errMissingJID},
		{"own full jid", "<enable xmlns='urn:xmpp:push:0' jid='juliet@example.org/phone' node='A'/>", errOwnJID},
		{"other own resource", "<enable xmlns='urn:xmpp:push:0' jid='juliet@example.org/laptop' node='A'/>", errOwnJID},
		{"own bare jid", "<enable xmlns='urn:xmpp:push:0' jid='juliet@example.org' node='A'/>", errOwnJID},
		{"own bare jid other case", "<enable xmlns='urn:xmpp:push:0' jid='Juliet@Example.ORG' node='A'/>", errOwnJID},
		{"server domain", "<enable xmlns='urn:xmpp:push:0' jid='example.org' node='A'/>", errOwnJID},
		{"empty localpart", "<enable xmlns='urn:xmpp:push:0' jid='@push.example.net' node='A'/>", errJIDMalformed},
		{"empty resource", "<enable xmlns='urn:xmpp:push:0' jid='push.example.net/' node='A'/>", errJIDMalformed},
		{"node too long", "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='" + strings.Repeat("n", maxNodeLen+1) + "'/>", errRequestTooLarge},
		{"not push", "<enable xmlns='urn:xmpp:other' jid='push.example.net'/>", errNotPushRequest},
		{"iq get", "<iq type='get' id='x'><enable xmlns='urn:xmpp:push:0' jid='push.example.net'/></iq>", errNotSet},
		{"malformed xml", "<enable xmlns='urn:xmpp:push:0' jid='push.example.net'", errMalformedRequest},
		{"disable without jid", "<disable xmlns='urn:xmpp:push:0' node='A'/>", errMissingJID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.open(at(0), phone)
			d := h.iq(at(0), phone, tc.xml)
			if len(d.Replies) != 1 || !sameStanzaError(d.Replies[0].Error, tc.want) {
				t.Fatalf("replies = %+v, want error %v", d.Replies, tc.want)
			}
			if got := h.registrations(); len(got) != 0 {
				t.Errorf("stored %v", got)
			}
			if id, ok := h.e.Binding(phone); ok {
				t.Errorf("bound to %s", id)
			}
		})
	}
}

// R4, R5, R9, R24: enable stores, binds, and publishes echo the form.
func TestEnableStoresAndBinds(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	d := h.iq(at(0), phone, "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='N'>"+
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"+nsPublishOptions+"</value></field>"+
		"<field var='secret'><value>s3cr&amp;t</value></field></x></enable></iq>")
	if len(d.Replies) != 1 || d.Replies[0].Error != nil || d.Replies[0].ID != "i" {
		t.Fatalf("replies %+v", d.Replies)
	}
	if got := h.registrations(); !slices.Equal(got, []registry.Identifier{"push.example.net<N"}) {
		t.Fatalf("stored %v", got)
	}
	if id, _ := h.e.Binding(phone); id != "push.example.net<N" {
		t.Fatalf("binding %q", id)
	}
	h.close(at(1), phone)
	d = h.offline(at(2), h.chat("hi"))
	if len(d.Publishes) != 1 {
		t.Fatalf("publishes %+v", d.Publishes)
	}
	p := d.Publishes[0]
	if v, _ := p.Options.Value("secret"); v != "s3cr&t" || p.To() != service || p.Node() != "N" || p.From() != "example.org" {
		t.Errorf("publish %+v", p)
	}
	x := string(p.AppendXML(nil))
	if !strings.Contains(x, "<publish-options><x xmlns='jabber:x:data' type='submit'>") || !strings.Contains(x, "<value>s3cr&amp;t</value>") {
		t.Errorf("xml %s", x)
	}
}

// R7, difference 2: the device limit evicts the least recently enabled
// registration, unbinds its sessions and forgets its error count.
func TestMaxDevicesEviction(t *testing.T) {
	h := newHarness(t, Config{MaxDevices: 2, MaxErrors: 2})
	h.open(at(0), phone)
	h.open(at(0), tablet)
	h.enable(at(0), phone, "n1")
	p := h.offline(at(1), h.chat("x")).Publishes[0]
	h.respond(at(2), p, "cancel", "item-not-found") // n1 has 1 error
	h.enable(at(3), tablet, "n2")
	h.enable(at(4), tablet, "n3")
	if got := h.registrations(); !slices.Equal(got, []registry.Identifier{"push.example.net<n2", "push.example.net<n3"}) {
		t.Fatalf("stored %v", got)
	}
	if _, ok := h.e.Binding(phone); ok {
		t.Fatal("phone still bound to the evicted registration")
	}
	if d := h.hibernate(at(5), phone, h.chat("x")); !d.Empty() {
		t.Fatalf("unbound session got %+v", d)
	}
	// Enabled again, n1 starts from zero errors: one error does not remove it.
	h.enable(at(6), phone, "n1")
	d := h.offline(at(7), h.chat("y"))
	for _, p := range d.Publishes {
		if p.Node() == "n1" {
			h.respond(at(8), p, "cancel", "item-not-found")
		}
	}
	if got := h.registrations(); !slices.Contains(got, "push.example.net<n1") {
		t.Fatalf("n1 removed after one error: %v", got)
	}
}

// R10, difference 5: disable with a node removes one registration, without
// a node every registration of the service, and unbinds every session bound
// to what it removed.
func TestDisable(t *testing.T) {
	h := newHarness(t, Config{})
	for _, s := range []string{phone, tablet, desktop} {
		h.open(at(0), s)
	}
	h.enable(at(0), phone, "A")
	h.enable(at(0), tablet, "A") // two sessions bound to one registration
	h.enable(at(0), desktop, "B")
	h.iq(at(0), desktop, "<enable xmlns='urn:xmpp:push:0' jid='push.other.net' node='C'/>")
	d := h.iq(at(1), desktop, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/>")
	if d.Replies[0].Error != nil {
		t.Fatal(d.Replies[0].Error)
	}
	for _, s := range []string{phone, tablet} {
		if _, ok := h.e.Binding(s); ok {
			t.Errorf("%s still bound", s)
		}
	}
	h.enable(at(2), phone, "A")
	d = h.iq(at(3), tablet, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>")
	if d.Replies[0].Error != nil {
		t.Fatal(d.Replies[0].Error)
	}
	if got := h.registrations(); !slices.Equal(got, []registry.Identifier{"push.other.net<C"}) {
		t.Fatalf("stored %v", got)
	}
	d = h.iq(at(4), tablet, "<disable xmlns='urn:xmpp:push:0' jid='unknown.example' node='z'/>")
	if d.Replies[0].Error != nil {
		t.Fatal("disabling an unknown registration must succeed")
	}
}

// Difference 3 and 4: store failures answer wait/internal-server-error and
// leave what is stored and bound as it was.
func TestStoreFailures(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")

	h.store.writes.Store(true)
	if d := h.iq(at(1), phone, "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='B'/>"); !sameStanzaError(d.Replies[0].Error, errStorage) {
		t.Fatalf("enable during write failure: %+v", d.Replies)
	}
	if d := h.iq(at(1), phone, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>"); !sameStanzaError(d.Replies[0].Error, errStorage) {
		t.Fatalf("disable during write failure: %+v", d.Replies)
	}
	if _, err := h.e.Handle(context.Background(), events.UserDeleted{Now: at(1), User: juliet}); !errors.Is(err, errFlaky) {
		t.Fatalf("UserDeleted during write failure: %v", err)
	}
	h.store.writes.Store(false)
	if id, _ := h.e.Binding(phone); id != "push.example.net<A" {
		t.Fatalf("binding changed to %q", id)
	}

	h.store.reads.Store(true)
	if d := h.offline(at(2), h.chat("lost")); len(d.Publishes) != 0 {
		t.Fatal("pushed while reads fail")
	}
	if d := h.iq(at(2), phone, "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='C'/>"); !sameStanzaError(d.Replies[0].Error, errStorage) {
		t.Fatalf("enable during read failure: %+v", d.Replies)
	}
	// A bound session's own pushes need no read.
	if d := h.hibernate(at(3), phone, h.chat("hello")); len(d.Publishes) != 1 {
		t.Fatalf("bound session not pushed while reads fail: %+v", d)
	}
	h.store.reads.Store(false)
	if got := h.registrations(); !slices.Equal(got, []registry.Identifier{"push.example.net<A"}) {
		t.Fatalf("stored %v", got)
	}
	if d := h.offline(at(4), h.chat("back")); len(d.Publishes) != 1 {
		t.Fatal("stored registration not used once reads work")
	}
}

// R15, R17, R27: hibernation start pushes the queue at once, at most one
// push per class, and the extended timeout is cut at the important one.
func TestHibernationStart(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	d := h.hibernate(at(5), phone, h.chatState(), h.chat("one"), h.chat("two"), h.presence())
	if got := pushes(d); !slices.Equal(got, []string{"A:∅", "A:New Message!"}) {
		t.Errorf("pushes %v", got)
	}
	if got := timeouts(d); !slices.Equal(got, []time.Duration{72 * time.Hour, 10 * time.Minute}) {
		t.Errorf("timeouts %v", got)
	}
	if !d.Publishes[1].Important || d.Publishes[0].Important {
		t.Error("importance flags wrong")
	}
}

// R16, R18: stanzas queued while hibernated are batched for BatchWindow.
func TestBatching(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(0), phone)
	d := h.queued(at(0), phone, h.chat("one"))
	if !d.Wake.Equal(at(1)) || len(d.Publishes) != 0 {
		t.Fatalf("first queued: %+v", d)
	}
	if d := h.queued(at(0.2), phone, h.chat("two")); !d.Wake.IsZero() {
		t.Fatalf("a second batch opened: %+v", d)
	}
	h.queued(at(0.5), phone, h.chatState())
	if d := h.e.Wake(context.Background(), at(0.99)); len(d.Publishes) != 0 {
		t.Fatal("pushed before the window closed")
	}
	d = h.e.Wake(context.Background(), at(1))
	if got := pushes(d); !slices.Equal(got, []string{"A:New Message!", "A:∅"}) {
		t.Errorf("pushes %v", got)
	}
	if got := timeouts(d); !slices.Equal(got, []time.Duration{10 * time.Minute}) {
		t.Errorf("timeouts %v", got)
	}
	if !d.Wake.IsZero() || !h.e.NextWake().IsZero() {
		t.Error("a wake-up is still pending")
	}
}

// R20, difference 7: resuming discards the pending batch.
func TestResumeDiscardsBatch(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(0), phone)
	h.queued(at(0), phone, h.chat("one"))
	h.must(h.e.HibernationEnd(context.Background(), events.HibernationEnded{Now: at(0.5), Session: phone}))
	if d := h.e.Wake(context.Background(), at(1)); len(d.Publishes) != 0 {
		t.Fatalf("pushed after resume: %v", pushes(d))
	}
	h.must(h.e.AckDelayed(context.Background(), events.AckDelayed{Now: at(40), Session: phone, Queue: []events.Stanza{h.chatState()}}))
	d := h.e.Wake(context.Background(), at(41))
	if got := pushes(d); !slices.Equal(got, []string{"A:∅"}) {
		t.Errorf("pushes %v", got)
	}
	if len(d.Timeouts) != 0 {
		t.Error("a live session got a timeout")
	}
}

// Difference 6 and 8: a stanza is pushed at most once per registration,
// across ack-delayed, hibernation, archive and offline paths.
func TestDedupAcrossPaths(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	m1, m2 := h.chat("one"), h.chat("two")
	h.must(h.e.AckDelayed(context.Background(), events.AckDelayed{Now: at(30), Session: phone, Queue: []events.Stanza{m1, m2}}))
	h.must(h.e.AckDelayed(context.Background(), events.AckDelayed{Now: at(30.5), Session: phone, Queue: []events.Stanza{m1, m2}}))
	if got := pushes(h.e.Wake(context.Background(), at(31))); len(got) != 1 {
		t.Fatalf("ack-delayed pushes %v", got)
	}
	if d := h.hibernate(at(91), phone, m1, m2); len(d.Publishes) != 0 {
		t.Fatalf("pushed again at hibernation: %v", pushes(d))
	}
	h.close(at(700), phone)
	if d := h.offline(at(700), m2); len(d.Publishes) != 0 {
		t.Fatalf("pushed again offline: %v", pushes(d))
	}
	// A stanza without identity is never recognised again.
	anon := events.Stanza{Kind: events.KindMessage, Body: "x"}
	if n := len(h.offline(at(701), anon).Publishes) + len(h.offline(at(702), anon).Publishes); n != 2 {
		t.Fatalf("keyless stanza pushed %d times, want 2", n)
	}
}

// R13, R14, difference 17: the archive path.
func TestArchiveRules(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.open(at(0), tablet)
	h.enable(at(0), tablet, "B")
	h.close(at(1), tablet)

	if got := pushes(h.archived(at(2), h.chat("hi"))); !slices.Equal(got, []string{"B:New Message!"}) {
		t.Errorf("incoming: %v", got)
	}
	out := h.chat("sent")
	out.From, out.To = phone, "romeo@montague.example"
	if got := pushes(h.archived(at(3), out)); len(got) != 0 {
		t.Errorf("outgoing: %v", got)
	}
	call := h.chatState()
	call.CallProposal = true
	if got := pushes(h.archived(at(4), call)); !slices.Equal(got, []string{"B:New Message!", "A:New Message!"}) {
		t.Errorf("call: %v", got)
	}
	h.close(at(5), phone)
	if got := pushes(h.archived(at(6), h.chat("nobody"))); len(got) != 0 {
		t.Errorf("no session: %v", got)
	}
}

// R11, R12, R21: offline, groupchat to the bare JID and ping wake every
// registration, newest first.
func TestWakeEveryRegistration(t *testing.T) {
	h := newHarness(t, Config{WithSender: true})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.enable(at(0), phone, "B")
	ctx := context.Background()
	if got := pushes(h.offline(at(1), h.chat("x"))); !slices.Equal(got, []string{"B:New Message!", "A:New Message!"}) {
		t.Errorf("offline %v", got)
	}
	gc := h.chat("hail")
	gc.Type = "groupchat"
	d := h.must(h.e.Handle(ctx, events.GroupchatToBare{Now: at(2), User: juliet, Stanza: gc}))
	if got := pushes(d); !slices.Equal(got, []string{"B:New Message!", "A:New Message!"}) {
		t.Errorf("groupchat %v", got)
	}
	d = h.must(h.e.Handle(ctx, events.Ping{Now: at(3), User: juliet, Nodes: []string{"A"}}))
	if got := pushes(d); !slices.Equal(got, []string{"A:∅"}) || d.Publishes[0].Sender != "" {
		t.Errorf("ping %v %+v", got, d.Publishes)
	}
}

// R26, differences 11, 12, 14: publish results.
func TestPublishResults(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 2, PublishTimeout: time.Minute})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(0), phone)
	next := func(sec float64) Publish {
		d := h.offline(at(sec), h.chat("x"))
		if len(d.Publishes) != 1 {
			t.Fatalf("publishes %+v", d.Publishes)
		}
		return d.Publishes[0]
	}
	h.respond(at(1), next(1), "wait", "resource-constraint")
	p := next(2)
	h.must(h.e.Handle(context.Background(), events.PublishResult{Now: at(2), ID: p.ID, From: "evil.example", Error: &events.StanzaError{Type: "cancel", Condition: "x"}}))
	late := next(3)
	h.respond(at(3+61), late, "cancel", "item-not-found") // too late: forgotten
	h.respond(at(70), next(70), "cancel", "item-not-found")
	h.respond(at(71), next(71), "", "") // success resets
	h.respond(at(72), next(72), "auth", "forbidden")
	if got := h.registrations(); len(got) != 1 {
		t.Fatalf("removed too early: %v", got)
	}
	d := h.respond(at(73), next(73), "cancel", "item-not-found")
	if got := h.registrations(); len(got) != 0 {
		t.Fatalf("not removed at MaxErrors: %v", got)
	}
	if got := timeouts(d); !slices.Equal(got, []time.Duration{10 * time.Minute}) {
		t.Errorf("timeouts on removal %v", got)
	}
	if _, ok := h.e.Binding(phone); ok {
		t.Error("session still bound")
	}
}

// Difference 12: an answer to a publish made before the registration was
// removed and enabled again is ignored.
func TestLateAnswerAfterReenable(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 1})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	old := h.offline(at(1), h.chat("x")).Publishes[0]
	h.iq(at(2), phone, "<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>")
	h.enable(at(3), phone, "A")
	h.respond(at(4), old, "cancel", "item-not-found")
	if got := h.registrations(); len(got) != 1 {
		t.Fatalf("a stale answer removed the new registration")
	}
}

// Difference 14: error counts belong to one user's registration.
func TestErrorCountsPerUser(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 1})
	romeoPhone := "romeo@example.org/phone"
	h.open(at(0), phone)
	h.open(at(0), romeoPhone)
	h.enable(at(0), phone, "A")
	h.enable(at(0), romeoPhone, "A")
	d := h.must(h.e.Handle(context.Background(), events.Ping{Now: at(1), User: "romeo@example.org"}))
	h.respond(at(2), d.Publishes[0], "cancel", "item-not-found")
	if got := h.registrations(); len(got) != 1 {
		t.Fatalf("juliet's registration removed by romeo's failure: %v", got)
	}
}

// Difference 9: deleting a user removes registrations and unbinds.
func TestUserDeleted(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(1), phone)
	d := h.must(h.e.Handle(context.Background(), events.UserDeleted{Now: at(2), User: juliet}))
	if got := timeouts(d); !slices.Equal(got, []time.Duration{10 * time.Minute}) {
		t.Errorf("timeouts %v", got)
	}
	if len(h.registrations()) != 0 {
		t.Error("registrations left")
	}
	if _, ok := h.e.Binding(phone); ok {
		t.Error("still bound")
	}
}
