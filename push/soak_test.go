package push

// This file holds the long runs: a soak of random events, and memory that\n// stays flat over a million stanzas.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// TestSoak sends a fixed number of random events for many users from many
// goroutines, with random store faults, then closes every session, answers
// or expires every publish and checks the engine holds nothing. Run it
// under -race.
func TestSoak(t *testing.T) {
	const goroutines, users, eventsPerG = 8, 400, 12500
	st := &flakyStore{Store: registry.NewMemory()}
	e, err := New(Config{Store: st, MaxErrors: 3, PublishTimeout: time.Minute, DedupWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The baseline: the engine with every registration stored but no
	// session, mark or publish.
	for i := range users {
		for n := range 3 {
			u := fmt.Sprintf("u%d@example.org", i)
			reg := registry.Registration{User: u, ID: registry.NewIdentifier(service, fmt.Sprint(n)), Enabled: epoch, Generation: 1}
			if _, _, err := st.Save(context.Background(), reg, 5); err != nil {
				t.Fatal(err)
			}
		}
	}
	base := heapInUse()
	peak := base
	ctx := context.Background()
	var wg sync.WaitGroup
	var peakMu sync.Mutex
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			now := epoch
			var pending []Publish
			for i := range eventsPerG {
				now = now.Add(time.Duration(r.IntN(200)) * time.Millisecond)
				u := fmt.Sprintf("u%d@example.org", (g*users/goroutines)+r.IntN(users/goroutines))
				s := u + "/r" + fmt.Sprint(r.IntN(2))
				msg := events.Stanza{Key: events.Key(g<<32 | i + 1), Kind: events.KindMessage, Body: "b"}
				if g == 0 && r.IntN(50) == 0 {
					st.reads.Store(r.IntN(2) == 0)
					st.writes.Store(r.IntN(2) == 0)
				}
				var d Decisions
				switch r.IntN(10) {
				case 0:
					d, _ = e.Handle(context.Background(), events.SessionOpened{Now: now, Session: s})
				case 1:
					d, _ = e.Handle(ctx, events.IQ{Now: now, Session: s, ID: "e", Payload: []byte(enableXML(fmt.Sprint(r.IntN(3))))})
				case 2:
					d, _ = e.HibernationStart(context.Background(), events.HibernationStarted{Now: now, Session: s, Queue: []events.Stanza{msg}})
				case 3:
					d, _ = e.StanzaQueued(context.Background(), events.StanzaQueued{Now: now, Session: s, Stanza: msg})
				case 4:
					d, _ = e.OfflineMessage(ctx, events.OfflineMessage{Now: now, User: u, Stanza: msg})
				case 5:
					d, _ = e.ArchiveAdded(ctx, events.MessageArchived{Now: now, User: u, Stanza: msg})
				case 6:
					d, _ = e.HibernationEnd(context.Background(), events.HibernationEnded{Now: now, Session: s})
				case 7:
					d, _ = e.Handle(context.Background(), events.SessionClosed{Now: now, Session: s})
				case 8:
					d = e.Wake(context.Background(), now)
				case 9:
					if len(pending) > 0 {
						p := pending[0]
						pending = pending[1:]
						var perr *events.StanzaError
						if r.IntN(3) == 0 {
							perr = &events.StanzaError{Type: "cancel", Condition: "item-not-found"}
						}
						d, _ = e.Handle(ctx, events.PublishResult{Now: now, ID: p.ID, From: p.To(), Error: perr})
					}
				}
				pending = append(pending, d.Publishes...)
				if g == 0 && i%500 == 0 {
					peakMu.Lock()
					peak = max(peak, heapInUse())
					peakMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	st.reads.Store(false)
	st.writes.Store(false)

	// Close every session; past every window, sweep.
	late := epoch.Add(48 * time.Hour)
	for i := range users {
		for r := range 2 {
			e.Handle(context.Background(), events.SessionClosed{Now: late, Session: fmt.Sprintf("u%d@example.org/r%d", i, r)})
		}
	}
	e.Wake(context.Background(), late)
	e.Sweep(late)
	if s := e.Stats(); s.Users+s.Sessions+s.BoundSessions+s.Marks+s.PendingPublishes+s.BatchedStanzas != 0 {
		t.Errorf("engine still holds %+v", s)
	}
	// The registrations changed (enables, removals), so allow for that.
	end := heapInUse()
	t.Logf("%d events; heap in use: baseline %d KiB, peak %d KiB, end %d KiB", goroutines*eventsPerG, base>>10, peak>>10, end>>10)
	if end > base+1<<20 {
		t.Errorf("heap did not come back: baseline %d bytes, end %d", base, end)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMillionStanzasFlatMemory queues a million stanzas to one hibernating
// session within one batch window (the worst case) and checks that the
// engine's memory stays bounded.
func TestMillionStanzasFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(0), phone)
	heap := heapInUse
	var base uint64
	for i := range 1_000_000 {
		now := at(float64(i) / 1e5) // ten seconds in all: ten batches
		st := events.Stanza{Key: events.Key(i + 1), Kind: events.KindMessage, Type: "chat", Body: "b"}
		if i%3 == 0 {
			st = events.Stanza{Key: events.Key(i + 1), Kind: events.KindPresence}
		}
		h.queued(now, phone, st)
		if i%100_000 == 99_999 { // a second has passed: the batch is due
			h.e.Wake(context.Background(), now)
		}
		if i == 100_000 {
			base = heap()
		}
	}
	s := h.e.Stats()
	if s.BatchedStanzas > 1025 || s.Marks > defaultMarksPerUser {
		t.Errorf("unbounded: %+v", s)
	}
	if grew := int64(heap()) - int64(base); grew > 1<<20 {
		t.Errorf("heap grew by %d bytes between 100k and 1M stanzas", grew)
	}
	if s.BoundSessions != 1 {
		t.Errorf("bound sessions %d", s.BoundSessions)
	}
}
