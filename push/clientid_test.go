package push

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/registrytest"
)

func TestClientRebinding(t *testing.T) {
	ctx := context.Background()
	store := registrytest.NewFaulty(registry.NewMemory())
	e, err := New(Config{Store: store, MaxDevices: 2})
	if err != nil {
		t.Fatal(err)
	}
	do := func(ev events.Event) Decisions {
		t.Helper()
		d, err := e.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b, c := registry.NewIdentifier(service, "A"), registry.NewIdentifier(service, "B"), registry.NewIdentifier(service, "C")
	const phone2, phone3 = juliet + "/phone2", juliet + "/phone3"
	do(events.SessionOpened{Now: at(0), Session: desktop})
	do(events.IQ{Now: at(0), Session: desktop, ID: "c", Payload: []byte(enableXML("C"))})
	do(events.SessionOpened{Now: at(1), Session: phone, Client: "ios-1"})
	do(events.IQ{Now: at(1), Session: phone, ID: "a", Payload: []byte(enableXML("A"))})
	do(events.SessionClosed{Now: at(2), Session: phone})

	// A new session of the same client is bound to A with no <enable/>.
	do(events.SessionOpened{Now: at(3), Session: phone2, Client: "ios-1"})
	if id, ok := e.Binding(phone2); !ok || id != a {
		t.Fatalf("reconnected session bound to %q %v, want %q", id, ok, a)
	}
	d := do(events.HibernationStarted{Now: at(4), Session: phone2, Queue: []events.Stanza{{Key: 1, Kind: events.KindMessage, Type: "chat", Body: "x", HasBody: true}}})
	if len(d.Publishes) != 1 || d.Publishes[0].Registration != a {
		t.Fatalf("the rebound session's queue pushed %+v", d.Publishes)
	}
	// Another client id, or none, is not bound.
	do(events.SessionOpened{Now: at(5), Session: tablet, Client: "android-7"})
	do(events.SessionOpened{Now: at(5), Session: romeo})
	for _, s := range []string{tablet, romeo} {
		if id, ok := e.Binding(s); ok {
			t.Errorf("%s bound to %q", s, id)
		}
	}

	// The same client enabling again under a new node replaces A: it is no
	// new device, so C (the other device) is not evicted at MaxDevices 2.
	do(events.SessionOpened{Now: at(6), Session: phone3, Client: "ios-1"})
	d = do(events.IQ{Now: at(7), Session: phone3, ID: "b", Payload: []byte(enableXML("B"))})
	want := []Change{{At: at(7), User: juliet, Registration: b, Reason: ReasonEnabled, Session: phone3},
		{At: at(7), User: juliet, Registration: a, Reason: ReasonReplaced, Session: phone3}}
	if !slices.Equal(d.Changes, want) {
		t.Errorf("changes %+v, want %+v", d.Changes, want)
	}
	regs, _ := e.Registrations(ctx, juliet)
	if len(regs) != 2 || regs[0].ID != c || regs[1].ID != b || regs[1].Client != "ios-1" {
		t.Fatalf("stored %+v, want C and B (ios-1)", regs)
	}
	if id, ok := e.Binding(phone2); ok {
		t.Errorf("the hibernating session of the replaced registration is still bound to %q", id)
	}
	if id, ok := e.Binding(phone3); !ok || id != b {
		t.Errorf("enabling session bound to %q %v", id, ok)
	}

	// A Save that fails after the replaced registration was removed puts
	// it back: nothing stored is lost.
	do(events.SessionOpened{Now: at(8), Session: phone, Client: "ios-1"})
	store.FailNth(3) // Load, Delete (of B), Save
	if _, err := e.Handle(ctx, events.IQ{Now: at(9), Session: phone, ID: "d", Payload: []byte(enableXML("D"))}); !errors.Is(err, ErrStore) {
		t.Fatalf("enable with a failing Save: %v", err)
	}
	regs, _ = e.Registrations(ctx, juliet)
	if len(regs) != 2 || !slices.ContainsFunc(regs, func(r registry.Registration) bool { return r.ID == b && r.Client == "ios-1" }) {
		t.Fatalf("after a failed enable: %+v, want B kept", regs)
	}

	// A failing read while a session opens leaves it opened, unbound.
	store.FailReads(true)
	if _, err := e.Handle(ctx, events.SessionOpened{Now: at(10), Session: juliet + "/phone4", Client: "ios-1"}); !errors.Is(err, ErrStore) {
		t.Fatalf("open with failing reads: %v", err)
	}
	store.FailReads(false)
	if _, ok := e.Binding(juliet + "/phone4"); ok {
		t.Error("bound though the store could not be read")
	}
	if n := e.Stats().Sessions; n != 7 { // Juliet's six and Romeo's
		t.Errorf("sessions %d, want 7", n)
	}
}
