package push

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
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

	// Every publish is answered, and counted, once: two errors for each
	// registration, and a second answer to the same publish counts nothing.
	for _, p := range d.Publishes {
		if got := h.respond(at(6), p, "cancel", "item-not-found"); !got.Empty() {
			t.Errorf("answer to %s: %+v", p.ID, got)
		}
	}
	h.respond(at(6), d.Publishes[0], "cancel", "item-not-found")
	regs, err := h.store.Store.Load(ctx, juliet)
	if err != nil || len(regs) != 2 || regs[0].Errors != 2 || regs[1].Errors != 2 {
		t.Errorf("after two errors each: %+v, %v", regs, err)
	}

	// No Decisions to append to: an error, not a panic.
	if err := h.e.HandleInto(ctx, events.OfflineMessage{Now: at(7), User: juliet, Stanza: h.chat("y")}, nil); !errors.Is(err, ErrNilDecisions) {
		t.Errorf("HandleInto(nil): error %v", err)
	}
	var none *Decisions
	none.Reset()

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

// TestConcurrentWakes has several goroutines call Wake at once while
// others queue stanzas and answer publishes: every batch is pushed exactly
// once, every publish id is distinct and can be answered once, and nothing
// is left behind (Wakes that find a shard busy come back to it).
func TestConcurrentWakes(t *testing.T) {
	const users, wakers = 2000, 4
	ctx := context.Background()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	sessions := make([]string, users)
	for i := range users {
		sessions[i] = fmt.Sprintf("u%d@example.org/phone", i)
		e.Handle(context.Background(), events.SessionOpened{Now: at(0), Session: sessions[i]})
		d, _ := e.Handle(ctx, events.IQ{Now: at(0), Session: sessions[i], ID: "e",
			Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='n'/>")})
		if len(d.Replies) != 1 || d.Replies[0].Error != nil {
			t.Fatalf("enable: %+v", d.Replies)
		}
		e.HibernationStart(context.Background(), events.HibernationStarted{Now: at(0), Session: sessions[i]})
	}
	for round := range 5 {
		queuedAt := at(float64(10 * round))
		for i, s := range sessions {
			st := events.Stanza{Key: events.Key(round*users + i + 1), Kind: events.KindMessage, Type: "chat", Body: "b", HasBody: true}
			if _, err := e.StanzaQueued(context.Background(), events.StanzaQueued{Now: queuedAt, Session: s, Stanza: st}); err != nil {
				t.Fatal(err)
			}
		}
		due := queuedAt.Add(e.Config().BatchWindow)
		results := make(chan []Publish, wakers)
		var wg sync.WaitGroup
		for range wakers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got []Publish
				for range 3 {
					got = append(got, e.Wake(context.Background(), due).Publishes...)
				}
				results <- got
			}()
		}
		wg.Wait()
		close(results)
		ids := map[string]bool{}
		perSession := map[string]int{}
		for got := range results {
			for _, p := range got {
				if ids[p.ID] {
					t.Fatalf("round %d: publish id %s given twice", round, p.ID)
				}
				ids[p.ID] = true
				perSession[p.User]++
				if d, err := e.Handle(ctx, events.PublishResult{Now: due, ID: p.ID, From: p.To()}); err != nil || !d.Empty() {
					t.Fatalf("answer to %s: %+v, %v", p.ID, d, err)
				}
			}
		}
		if len(perSession) != users {
			t.Fatalf("round %d: %d users pushed, want %d", round, len(perSession), users)
		}
		for u, n := range perSession {
			if n != 1 {
				t.Fatalf("round %d: %s pushed %d times, want once", round, u, n)
			}
		}
		if st := e.Stats(); st.BatchedStanzas != 0 || st.PendingPublishes != 0 || !e.NextWake().IsZero() {
			t.Fatalf("round %d: left behind: %+v, next wake %v", round, st, e.NextWake())
		}
	}
}

// TestWakeWaitsForTheUsersTurn runs Wake while an enable of the same user
// is inside its Store call: Wake must wait for it and then push the batch,
// not skip it.
func TestWakeWaitsForTheUsersTurn(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(0), phone)
	d := h.queued(at(0.5), phone, h.chat("x"))
	gate := &gateStore{Store: h.e.cfg.Store}
	inSave, release := make(chan struct{}), make(chan struct{})
	gate.hold = func() { close(inSave); <-release }
	h.e.cfg.Store = gate
	enabled := make(chan error)
	go func() {
		_, err := h.e.Handle(context.Background(), events.IQ{Now: at(1), Session: tablet, ID: "e", Payload: []byte(enableXML("B"))})
		enabled <- err
	}()
	<-inSave
	woke := make(chan Decisions)
	go func() { woke <- h.e.Wake(context.Background(), d.Wake) }()
	for h.e.waiting(juliet) == 0 {
		runtime.Gosched()
	}
	gate.hold = nil
	close(release)
	if err := <-enabled; err != nil {
		t.Fatal(err)
	}
	if got := pushes(<-woke); !slices.Equal(got, []string{"A:New Message!"}) {
		t.Errorf("Wake during another operation of the user pushed %v", got)
	}
}

// TestPublishTrackedInFreePendingShard holds the user's own shard of
// pending publishes: the publishes go to a free one, and their answers are
// still matched.
func TestPublishTrackedInFreePendingShard(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	home := uint64(events.KeyOf(juliet)) % pendingShards
	h.e.pending[home].mu.Lock()
	d := h.offline(at(1), h.chat("x"))
	h.e.pending[home].mu.Unlock()
	if len(d.Publishes) != 1 {
		t.Fatalf("%d publishes", len(d.Publishes))
	}
	p := d.Publishes[0]
	ps, _, ok := h.e.pendingOf(p.ID)
	if !ok || ps == &h.e.pending[home] {
		t.Fatalf("publish %s tracked in the busy shard (or not at all)", p.ID)
	}
	h.respond(at(2), p, "cancel", "item-not-found")
	h.respond(at(3), d.Publishes[0], "cancel", "item-not-found") // a repeated answer counts nothing
	regs, err := h.store.Store.Load(context.Background(), juliet)
	if err != nil || len(regs) != 1 || regs[0].Errors != 1 {
		t.Errorf("after one error: %+v, %v", regs, err)
	}
}

// TestEmitSetsEveryPublishField guards emit, which fills a Publish field by
// field: a field added to Publish must be set there too.
func TestEmitSetsEveryPublishField(t *testing.T) {
	const fields = 13 // ID, User, Options, Sender, Body, Important, Registration, Extensions, VoIP, Payload, gen, retry, counts
	if n := reflect.TypeFor[Publish]().NumField(); n != fields {
		t.Fatalf("Publish has %d fields, emit sets %d: set the new one in emit and update this test", n, fields)
	}
}
