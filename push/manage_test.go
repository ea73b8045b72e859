package push

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/registrytest"
)

func TestRegistrationsAndRemove(t *testing.T) {
	ctx := context.Background()
	store := registrytest.NewFaulty(registry.NewMemory())
	e, err := New(Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	a, b := registry.NewIdentifier(service, "A"), registry.NewIdentifier(service, "B")
	must := func(d Decisions, err error) Decisions {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	must(e.Handle(ctx, events.SessionOpened{Now: at(0), Session: phone}))
	must(e.Handle(ctx, events.IQ{Now: at(1), Session: phone, ID: "1", Payload: []byte(`<enable xmlns='urn:xmpp:push:0' jid='` + service + `' node='A'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'><value>s3cr3t</value></field></x></enable>`)}))
	must(e.Handle(ctx, events.IQ{Now: at(2), Session: tablet, ID: "2", Payload: []byte(`<enable xmlns='urn:xmpp:push:0' jid='` + service + `' node='B'/>`)}))
	must(e.HibernationStart(ctx, events.HibernationStarted{Now: at(3), Session: phone}))
	d := must(e.OfflineMessage(ctx, events.OfflineMessage{Now: at(4), User: juliet, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage, Type: "chat", Body: "x", HasBody: true}}))
	for _, p := range d.Publishes {
		if p.Node() == "B" {
			must(e.Handle(ctx, events.PublishResult{Now: at(5), ID: p.ID, From: service, Error: &events.StanzaError{Type: "modify", Condition: "bad-request"}}))
		} else {
			must(e.Handle(ctx, events.PublishResult{Now: at(5), ID: p.ID, From: service}))
		}
	}

	regs, err := e.Registrations(ctx, juliet)
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 2 || regs[0].ID != a || regs[1].ID != b {
		t.Fatalf("registrations %+v", regs)
	}
	if !regs[0].Options.IsZero() {
		t.Errorf("options (secrets) listed: %+v", regs[0].Options)
	}
	if !regs[0].Enabled.Equal(at(1)) || !regs[0].LastSuccess.Equal(at(5)) || regs[0].Errors != 0 {
		t.Errorf("A listed as %+v", regs[0])
	}
	if regs[1].Errors != 1 || regs[1].LastError != "bad-request" || !regs[1].FailingSince.Equal(at(5)) {
		t.Errorf("B listed as %+v", regs[1])
	}

	store.FailWrites(true)
	if _, err := e.Remove(ctx, at(6), juliet, juliet, a); !errors.Is(err, ErrStore) {
		t.Fatalf("Remove with a failing store: %v", err)
	}
	store.FailWrites(false)
	if regs, _ := e.Registrations(ctx, juliet); len(regs) != 2 {
		t.Fatalf("a failed Remove lost registrations: %+v", regs)
	}
	if _, ok := e.Binding(phone); !ok {
		t.Fatal("a failed Remove unbound the session")
	}

	d, err = e.Remove(ctx, at(7), juliet, "admin@example.org", a, registry.NewIdentifier(service, "nope"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{At: at(7), User: juliet, Registration: a, Reason: ReasonRemoved, Session: "admin@example.org"}}
	if !slices.Equal(d.Changes, want) {
		t.Errorf("changes %+v", d.Changes)
	}
	if got := timeouts(d); !slices.Equal(got, []time.Duration{defaultHibernationTimeout}) {
		t.Errorf("timeouts %v", got)
	}
	if _, ok := e.Binding(phone); ok {
		t.Error("session still bound to a removed registration")
	}
	if regs, _ := e.Registrations(ctx, juliet); len(regs) != 1 || regs[0].ID != b {
		t.Errorf("left %+v", regs)
	}

	for _, c := range []struct {
		user string
		ids  []registry.Identifier
	}{{"", []registry.Identifier{a}}, {phone, []registry.Identifier{a}}, {juliet, nil}} {
		if _, err := e.Remove(ctx, at(8), c.user, "x", c.ids...); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Remove(%q, %v): %v", c.user, c.ids, err)
		}
	}
	if _, err := e.Registrations(ctx, phone); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Registrations of a full JID: %v", err)
	}
	store.FailReads(true)
	if _, err := e.Registrations(ctx, juliet); !errors.Is(err, ErrStore) {
		t.Errorf("Registrations with failing reads: %v", err)
	}
}
