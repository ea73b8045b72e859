package push

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// sent is one publish as a test saw it go out.
type sent struct {
	at        time.Time
	body      string
	important bool
}

// drive queues the burst to the hibernating phone (one stanza per entry,
// at its time), waking the engine whenever a timer falls due, then runs
// the clock on until nothing is pending. It returns every publish.
func drive(t *testing.T, h *harness, burst []time.Time, body func(i int) events.Stanza) []sent {
	t.Helper()
	var out []sent
	wake := time.Time{}
	collect := func(at time.Time, d Decisions) {
		for _, p := range d.Publishes {
			out = append(out, sent{at: at, body: p.Body, important: p.Important})
		}
		if !d.Wake.IsZero() && (wake.IsZero() || d.Wake.Before(wake)) {
			wake = d.Wake
		}
	}
	runUntil := func(now time.Time) {
		for !wake.IsZero() && !wake.After(now) {
			w := wake
			wake = time.Time{}
			collect(w, h.e.Wake(context.Background(), w))
		}
	}
	for i, at := range burst {
		runUntil(at)
		collect(at, h.queued(at, phone, body(i)))
	}
	runUntil(burst[len(burst)-1].Add(time.Hour))
	if st := h.e.Stats(); st.HeldPushes != 0 || st.BatchedStanzas != 0 {
		t.Fatalf("still pending after the burst: %+v", st)
	}
	return out
}

// TestBurst sends bursts of 100 messages to a hibernating phone under each
// policy: the pushes never exceed what the policy allows (at most one per
// debounce window, at most the cap in any minute), and the last push comes
// at or after the last message: the phone is woken after it arrived, so
// nothing of the burst waits unseen.
func TestBurst(t *testing.T) {
	for _, cfg := range []Config{
		{DebounceWindow: 20 * time.Second},
		{DebounceWindow: 5 * time.Second},
		{MaxPushesPerMinute: 3},
		{MaxUserPushesPerMinute: 2, DebounceWindow: 10 * time.Second},
		{MaxPushesPerMinute: 1, BatchWindow: 100 * time.Millisecond},
	} {
		for seed := range uint64(20) {
			name := fmt.Sprintf("debounce=%v/reg=%d/user=%d/seed=%d", cfg.DebounceWindow, cfg.MaxPushesPerMinute,
				cfg.MaxUserPushesPerMinute, seed)
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 17))
				cfg.WithBody = true
				h := newHarness(t, cfg)
				h.open(at(0), phone)
				h.enable(at(0), phone, "A")
				h.hibernate(at(1), phone)
				burst := make([]time.Time, 100)
				now := at(2)
				for i := range burst {
					now = now.Add(time.Duration(rng.Int64N(int64(3 * time.Second))))
					burst[i] = now
				}
				pushes := drive(t, h, burst, func(i int) events.Stanza { return h.chat(fmt.Sprint("m", i)) })
				last := pushes[len(pushes)-1]
				if last.at.Before(burst[99]) {
					t.Fatalf("last push %+v does not cover the last message at %v", last, burst[99])
				}
				span := burst[99].Sub(burst[0]) + time.Minute
				limit := len(burst)
				if w := cfg.DebounceWindow; w > 0 {
					limit = min(limit, int(span/w)+2)
				}
				if c := max(cfg.MaxPushesPerMinute, cfg.MaxUserPushesPerMinute); c > 0 {
					limit = min(limit, c*int(span/time.Minute+1))
				}
				if len(pushes) > limit {
					t.Fatalf("%d pushes for a burst over %v, limit %d", len(pushes), span, limit)
				}
				for i, p := range pushes {
					if i > 0 && cfg.DebounceWindow > 0 && p.at.Sub(pushes[i-1].at) < cfg.DebounceWindow {
						t.Fatalf("pushes %d and %d %v apart, within the debounce window", i-1, i, p.at.Sub(pushes[i-1].at))
					}
					if c := max(cfg.MaxPushesPerMinute, cfg.MaxUserPushesPerMinute); c > 0 && i >= c && p.at.Sub(pushes[i-c].at) < time.Minute {
						t.Fatalf("%d pushes within a minute, cap %d", c+1, c)
					}
				}
				m := h.e.Metrics()
				if got := m.Counts[PublishedImportant]; got != uint64(len(pushes)) {
					t.Fatalf("published_important %d, %d pushes", got, len(pushes))
				}
				if sum := m.Counts[PublishedImportant] + m.Counts[SuppressedBatch] + m.Counts[SuppressedDebounce] + m.Counts[SuppressedRateLimit]; sum != 100 {
					t.Fatalf("reasons add up to %d for 100 messages: %v", sum, m.Counts)
				}
			})
		}
	}
}

// TestDebounce checks the coalescing rules one by one: first push at once,
// an important stanza upgrades a held unimportant push and is not replaced
// by a later unimportant one, calls go at once, and a disable withdraws a
// held push.
func TestDebounce(t *testing.T) {
	call := func(h *harness) events.Stanza {
		st := h.chatState()
		st.CallProposal = true
		return st
	}
	for _, tc := range []struct {
		name  string
		queue func(h *harness) []events.Stanza // one per second from t=2
		want  []string                         // "second:body"
		held  Reason                           // the reason the displaced pushes count
	}{
		{"first at once, rest coalesced at the window's end",
			func(h *harness) []events.Stanza { return []events.Stanza{h.chat("a"), h.chat("b"), h.chat("c")} },
			[]string{"3:a", "23:c"}, SuppressedDebounce},
		{"important upgrades a held unimportant push",
			func(h *harness) []events.Stanza { return []events.Stanza{h.chat("a"), h.chatState(), h.chat("b")} },
			[]string{"3:a", "23:b"}, SuppressedDebounce},
		{"a held important push is not downgraded",
			func(h *harness) []events.Stanza { return []events.Stanza{h.chat("a"), h.chat("b"), h.chatState()} },
			[]string{"3:a", "23:b"}, SuppressedDebounce},
		{"calls are never held",
			func(h *harness) []events.Stanza { return []events.Stanza{h.chat("a"), call(h), h.chat("c")} },
			[]string{"3:a", "4:New Message!", "23:c"}, SuppressedDebounce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{DebounceWindow: 20 * time.Second, WithBody: true})
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.hibernate(at(1), phone)
			q := tc.queue(h)
			burst := make([]time.Time, len(q))
			for i := range q {
				burst[i] = at(float64(2 + i))
			}
			var got []string
			for _, p := range drive(t, h, burst, func(i int) events.Stanza { return q[i] }) {
				got = append(got, fmt.Sprintf("%v:%s", p.at.Sub(epoch).Seconds(), p.body))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("pushes %v, want %v", got, tc.want)
			}
			m := h.e.Metrics()
			if pub := m.Counts[PublishedImportant] + m.Counts[PublishedUnimportant]; pub+m.Counts[tc.held] != uint64(len(q)) {
				t.Fatalf("counts %v for %d stanzas", m.Counts, len(q))
			}
		})
	}
	t.Run("disable withdraws a held push", func(t *testing.T) {
		h := newHarness(t, Config{DebounceWindow: 20 * time.Second})
		h.open(at(0), phone)
		h.enable(at(0), phone, "A")
		h.hibernate(at(1), phone, h.chat("a"))
		h.queued(at(2), phone, h.chat("b"))
		h.e.Wake(context.Background(), at(3))
		if st := h.e.Stats(); st.HeldPushes != 1 {
			t.Fatalf("held %d", st.HeldPushes)
		}
		h.iq(at(4), tablet, "<disable xmlns='urn:xmpp:push:0' jid='"+service+"'/>")
		if d := h.e.Wake(context.Background(), at(30)); len(d.Publishes) != 0 {
			t.Fatalf("a withdrawn push was sent: %v", pushes(d))
		}
		if m := h.e.Metrics(); m.Counts[SuppressedWithdrawn] != 1 || m.Counts[PublishedImportant] != 1 {
			t.Fatalf("counts %v", m.Counts)
		}
	})
}
