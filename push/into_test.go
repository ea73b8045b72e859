package push

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// TestHandleInto checks the appending form of the handlers: decisions of
// several events accumulate in one Decisions, every publish is tracked
// (and answerable) exactly once, Wake is the earliest, an error leaves d as
// it was, and Reset empties d but keeps its memory.
func TestHandleInto(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.open(at(0), tablet)
	h.enable(at(0), phone, "A")
	h.enable(at(0), tablet, "B")
	h.hibernate(at(0), phone)
	h.hibernate(at(0), tablet)

	var d Decisions
	// Two offline messages without a Reset in between: four publishes.
	for _, sec := range []float64{1, 2} {
		ev := events.OfflineMessage{Now: at(sec), User: juliet, Stanza: h.chat("m")}
		if err := h.e.HandleInto(ctx, ev, &d); err != nil {
			t.Fatal(err)
		}
	}
	if got := pushes(d); !slices.Equal(got, []string{"B:New Message!", "A:New Message!", "B:New Message!", "A:New Message!"}) {
		t.Fatalf("publishes %v", got)
	}
	first := slices.Clone(d.Publishes[:2])
	ids := map[string]bool{}
	for _, p := range d.Publishes {
		if p.ID == "" || ids[p.ID] {
			t.Fatalf("publish id %q empty or repeated: %+v", p.ID, d.Publishes)
		}
		ids[p.ID] = true
	}

	// Queued stanzas open batches; Wake is the earlier due time, whatever
	// the order of the events.
	if err := h.e.HandleInto(ctx, events.StanzaQueued{Now: at(5), Session: tablet, Stanza: h.chat("q")}, &d); err != nil {
		t.Fatal(err)
	}
	if err := h.e.HandleInto(ctx, events.StanzaQueued{Now: at(3), Session: phone, Stanza: h.chat("q")}, &d); err != nil {
		t.Fatal(err)
	}
	if want := at(3).Add(h.e.Config().BatchWindow); !d.Wake.Equal(want) {
		t.Errorf("Wake %v, want %v", d.Wake, want)
	}

	// An invalid event changes nothing in d.
	before := d
	before.Publishes = slices.Clone(d.Publishes)
	if err := h.e.HandleInto(ctx, events.OfflineMessage{User: juliet, Stanza: h.chat("x")}, &d); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("zero Now: error %v", err)
	}
	type other struct{ events.SessionOpened }
	err := h.e.HandleInto(ctx, other{events.SessionOpened{Now: at(4), Session: phone}}, &d)
	if !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), "push.other") {
		t.Fatalf("unknown event type: error %v", err)
	}
	if !slices.Equal(d.Publishes, before.Publishes) || !d.Wake.Equal(before.Wake) || len(d.Replies) != 0 || len(d.Timeouts) != 0 {
		t.Fatalf("a failed event changed d: %+v", d)
	}
	if !slices.Equal(d.Publishes[:2], first) {
		t.Errorf("later events changed earlier publishes: %+v, want %+v", d.Publishes[:2], first)
	}

	// Every publish can be answered once; a second answer is ignored.
	for _, p := range d.Publishes {
		if got := h.respond(at(6), p, "cancel", "item-not-found"); !got.Empty() {
			t.Errorf("answer to %s: %+v", p.ID, got)
		}
	}
	if got := len(h.registrations()); got != 2 {
		t.Errorf("%d registrations after one error each, want 2", got)
	}

	pubs := cap(d.Publishes)
	d.Reset()
	if !d.Empty() || cap(d.Publishes) != pubs {
		t.Errorf("after Reset: %+v, capacity %d, want empty with capacity %d", d, cap(d.Publishes), pubs)
	}
	if p := d.Publishes[:1][0]; p != (Publish{}) {
		t.Errorf("Reset kept a publish: %+v", p)
	}
}

// TestHandleIntoAllocations checks that an offline message handled into a
// reused Decisions allocates only the publishes' ids (one string for all),
// with a Store that implements registry.Appender.
func TestHandleIntoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocations")
	}
	ctx := context.Background()
	h := newHarness(t, Config{PublishTimeout: time.Second})
	h.e.cfg.Store = h.store.Store // the Memory itself, an Appender
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.enable(at(0), phone, "B")
	h.enable(at(0), phone, "C")
	h.close(at(0), phone)
	var d Decisions
	now := at(1)
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		d.Reset()
		if err := h.e.HandleInto(ctx, events.OfflineMessage{Now: now, User: juliet, Stanza: h.chat("m")}, &d); err != nil || len(d.Publishes) != 3 {
			t.Fatalf("offline message: %d publishes, error %v", len(d.Publishes), err)
		}
	})
	if allocs > 1 {
		t.Errorf("%.1f allocations per offline message, want at most 1", allocs)
	}
}
