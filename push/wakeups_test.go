package push

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// TestMetricsReasonsWakeups checks that each decision path of the
// wake-ups, repeats and clearing pushes counts exactly the reasons it
// should, once each, in the engine's counts and in the host's Metrics
// alike, and that every publish made is observed in stanza_to_push.
func TestMetricsReasonsWakeups(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  Config
		run  func(h *harness)
		want map[Reason]uint64
	}{
		{"wake-up before the timeout", Config{WakeBeforeTimeout: time.Minute}, func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			d := h.hibernate(at(0), phone)
			if want := at(0).Add(defaultMaxHibernationTimeout - time.Minute); !d.Wake.Equal(want) {
				h.t.Errorf("Wake %v, want %v", d.Wake, want)
			}
			h.e.Wake(ctx, d.Wake)
		}, map[Reason]uint64{PublishedWake: 1}},
		{"wake-up moves with the timeout an important push cuts back, once", Config{WakeBeforeTimeout: time.Minute, PublishTimeout: 100 * time.Hour}, func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.hibernate(at(0), phone)
			h.queued(at(1), phone, h.chat("a"))
			h.e.Wake(ctx, at(2))
			h.e.Wake(ctx, at(2).Add(defaultHibernationTimeout-time.Minute))
			h.e.Wake(ctx, at(0).Add(defaultMaxHibernationTimeout))
		}, map[Reason]uint64{PublishedImportant: 1, PublishedWake: 1}},
		{"no wake-up for a session that resumed", Config{WakeBeforeTimeout: time.Minute}, func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.hibernate(at(0), phone)
			h.must(h.e.HibernationEnd(ctx, events.HibernationEnded{Now: at(1), Session: phone}))
			h.e.Wake(ctx, at(0).Add(defaultMaxHibernationTimeout))
		}, map[Reason]uint64{}},
		{"restart", Config{}, func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.enable(at(0), phone, "B")
			h.must(h.e.Handle(ctx, events.Restarted{Now: at(1), User: juliet}))
			h.must(h.e.Handle(ctx, events.Restarted{Now: at(1), User: juliet, Nodes: []string{"B"}}))
		}, map[Reason]uint64{PublishedWake: 3}},
		{"read clears the other device", Config{ClearOnRead: true}, func(h *harness) {
			h.open(at(0), phone)
			h.open(at(0), tablet)
			h.enable(at(0), phone, "A")
			h.enable(at(0), tablet, "B")
			h.close(at(0), tablet)
			h.offline(at(1), h.chat("a"))
			h.must(h.e.Handle(ctx, events.MessagesRead{Now: at(2), Session: phone}))
			h.must(h.e.Handle(ctx, events.MessagesRead{Now: at(3), Session: phone}))
		}, map[Reason]uint64{PublishedImportant: 2, PublishedCleared: 1}},
		{"read withdraws a held push", Config{ClearOnRead: true, DebounceWindow: 20 * time.Second}, func(h *harness) {
			h.open(at(0), desktop)
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.close(at(0), phone)
			h.offline(at(1), h.chat("a"))
			h.offline(at(2), h.chat("b"))
			h.must(h.e.Handle(ctx, events.MessagesRead{Now: at(3), Session: desktop}))
			h.e.Wake(ctx, at(60))
		}, map[Reason]uint64{PublishedImportant: 1, PublishedCleared: 1, SuppressedWithdrawn: 1}},
		{"read off by default", Config{}, func(h *harness) {
			h.open(at(0), desktop)
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.close(at(0), phone)
			h.offline(at(1), h.chat("a"))
			h.must(h.e.Handle(ctx, events.MessagesRead{Now: at(3), Session: desktop}))
		}, map[Reason]uint64{PublishedImportant: 1}},
		{"repeat for an unacknowledged stanza", Config{RepeatAfter: 30 * time.Second, MaxRepeats: 1}, func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			st := h.chat("a")
			for i := range 3 {
				h.hibernate(at(float64(100*i)), phone, st)
				h.e.Wake(ctx, at(float64(100*i+50)))
				h.must(h.e.HibernationEnd(ctx, events.HibernationEnded{Now: at(float64(100*i + 60)), Session: phone}))
			}
		}, map[Reason]uint64{PublishedImportant: 1, SuppressedDedup: 2, PublishedRepeat: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{}
			tc.cfg.Metrics = s
			h := newHarness(t, tc.cfg)
			tc.run(h)
			got := h.e.Metrics()
			var published uint64
			for r := range NumReasons {
				if got.Counts[r] != tc.want[r] {
					t.Errorf("%v: counted %d, want %d", r, got.Counts[r], tc.want[r])
				}
				if s.counts[r] != got.Counts[r] {
					t.Errorf("%v: host's Metrics got %d, engine counted %d", r, s.counts[r], got.Counts[r])
				}
				if strings.HasPrefix(r.String(), "published_") {
					published += got.Counts[r]
				}
			}
			if n := got.Histograms[StanzaToPush].Count; n != published {
				t.Errorf("stanza_to_push observed %d, want %d", n, published)
			}
		})
	}
}

// countsOf is a Counter answering from a function; calls counts its
// calls.
type countsOf struct {
	f     func(user string) (int, int, error)
	calls atomic.Int32
}

func (c *countsOf) Count(_ context.Context, user string) (int, int, error) {
	c.calls.Add(1)
	return c.f(user)
}

// TestCounter checks the summary counts: what the Counter says, asked
// once per event however many publishes it makes; a failing Counter
// leaves Prosody's counts and still pushes, counted in
// Stats.CounterErrors; a Counter may call back into the engine (no lock
// is held).
func TestCounter(t *testing.T) {
	ctx := context.Background()
	var h *harness
	fail := false
	c := &countsOf{f: func(user string) (int, int, error) {
		if user != juliet {
			t.Errorf("Counter asked about %q", user)
		}
		h.e.Stats() // takes every shard's lock: deadlocks if one is held
		if fail {
			return 0, 0, errors.New("archive down")
		}
		return 4, 2, nil
	}}
	h = newHarness(t, Config{Counter: c, ClearOnRead: true, WakeBeforeTimeout: time.Minute})
	h.open(at(0), desktop)
	h.open(at(0), phone)
	h.open(at(0), tablet)
	h.enable(at(0), phone, "A")
	h.enable(at(0), tablet, "B")
	h.close(at(0), phone)
	h.close(at(0), tablet)
	for _, tc := range []struct {
		fail                    bool
		messages, subscriptions int
		xml                     string
	}{
		{false, 4, 2, "<field type='text-single' var='message-count'><value>4</value></field><field type='text-single' var='pending-subscription-count'><value>2</value></field>"},
		{true, 1, -1, "<field type='text-single' var='message-count'><value>1</value></field><field type='text-single' var='pending-subscription-count'/>"},
	} {
		fail = tc.fail
		before := c.calls.Load()
		d := h.offline(at(1), h.chat("a"))
		if n := c.calls.Load() - before; n != 1 {
			t.Errorf("fail=%v: Counter asked %d times for one event, want 1", tc.fail, n)
		}
		if len(d.Publishes) != 2 {
			t.Fatalf("fail=%v: %d publishes, want 2", tc.fail, len(d.Publishes))
		}
		for _, p := range d.Publishes {
			if m, s := p.Counts(); m != tc.messages || s != tc.subscriptions {
				t.Errorf("fail=%v: Counts() = %d, %d; want %d, %d", tc.fail, m, s, tc.messages, tc.subscriptions)
			}
			if x := string(p.AppendXML(nil)); !strings.Contains(x, tc.xml) {
				t.Errorf("fail=%v: publish lacks %s:\n%s", tc.fail, tc.xml, x)
			}
		}
	}
	if n := h.e.Stats().CounterErrors; n != 1 {
		t.Errorf("CounterErrors = %d, want 1", n)
	}
	fail = false
	// A clearing push says 0 messages whatever the Counter says, and
	// keeps its subscriptions; a wake-up fired by Wake is counted too.
	d := h.must(h.e.Handle(ctx, events.MessagesRead{Now: at(2), Session: desktop}))
	if len(d.Publishes) != 2 {
		t.Fatalf("read: %d publishes, want 2", len(d.Publishes))
	}
	for _, p := range d.Publishes {
		if m, s := p.Counts(); m != 0 || s != 2 || p.Body != "" {
			t.Errorf("clearing push: Counts() = %d, %d, body %q; want 0, 2, none", m, s, p.Body)
		}
	}
	h.open(at(3), phone)
	h.enable(at(3), phone, "A")
	wake := h.hibernate(at(3), phone).Wake
	before := c.calls.Load()
	d = h.e.Wake(ctx, wake)
	if len(d.Publishes) != 1 || c.calls.Load() != before+1 {
		t.Fatalf("Wake: %d publishes, Counter asked %d times; want 1 and 1", len(d.Publishes), c.calls.Load()-before)
	}
	if m, s := d.Publishes[0].Counts(); m != 4 || s != 2 {
		t.Errorf("wake-up: Counts() = %d, %d; want 4, 2", m, s)
	}
}

// TestWakeupsInvalid checks that the new events refuse what the others
// refuse, that a read's Store failure is a StoreError and pushes nothing,
// and that the new settings are checked.
func TestWakeupsInvalid(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{ClearOnRead: true})
	for _, ev := range []events.Event{
		events.MessagesRead{Now: at(1), Session: juliet},
		events.MessagesRead{Session: phone},
		events.Restarted{Now: at(1), User: phone},
		events.Restarted{User: juliet},
	} {
		if _, err := h.e.Handle(ctx, ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%#v: error %v, want ErrInvalidEvent", ev, err)
		}
	}
	h.open(at(0), phone)
	h.open(at(0), tablet)
	h.enable(at(0), tablet, "B")
	h.close(at(0), tablet)
	h.offline(at(1), h.chat("a"))
	h.store.reads.Store(true)
	for _, ev := range []events.Event{events.MessagesRead{Now: at(2), Session: phone}, events.Restarted{Now: at(2), User: juliet}} {
		d, err := h.e.Handle(ctx, ev)
		var se *StoreError
		if !errors.As(err, &se) || len(d.Publishes) != 0 {
			t.Errorf("%T with a failing Store: %d publishes, error %v; want none and a *StoreError", ev, len(d.Publishes), err)
		}
	}
	h.store.reads.Store(false)
	if d := h.must(h.e.Handle(ctx, events.MessagesRead{Now: at(3), Session: phone})); len(d.Publishes) != 1 {
		t.Errorf("read after the Store came back: %d publishes, want 1 (nothing stored was lost)", len(d.Publishes))
	}
	if n := h.e.Stats().UnknownSessions; n != 0 {
		t.Fatalf("UnknownSessions = %d before reading on an unknown session", n)
	}
	h.must(h.e.Handle(ctx, events.MessagesRead{Now: at(4), Session: "juliet@example.org/gone"}))
	if n := h.e.Stats().UnknownSessions; n != 1 {
		t.Errorf("UnknownSessions = %d after a read on an unknown session, want 1", n)
	}
	for _, cfg := range []Config{
		{WakeBeforeTimeout: defaultHibernationTimeout},
		{WakeBeforeTimeout: -time.Second},
		{RepeatAfter: -time.Second},
		{MaxRepeats: -1},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v): error %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
