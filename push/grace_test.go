package push

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// TestGracePeriod: while the desktop is active, the phone's pushes wait
// for the grace to end; a call bypasses it; more activity extends it; the
// phone coming back withdraws the held push; activity of the phone itself
// holds nothing.
func TestGracePeriod(t *testing.T) {
	type step struct {
		at     float64
		active string // a session reporting activity, or
		queue  string // "msg", "call": a stanza queued to the phone, or
		resume bool   // the phone resumes
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string // "second:kind" of each push
		count map[Reason]uint64
	}{
		{"held until the grace ends", []step{{at: 0, active: desktop}, {at: 1, queue: "msg"}},
			[]string{"30:msg"}, map[Reason]uint64{PublishedImportant: 1}},
		{"a call bypasses the grace", []step{{at: 0, active: desktop}, {at: 1, queue: "msg"}, {at: 5, queue: "call"}},
			[]string{"6:call", "30:msg"}, map[Reason]uint64{PublishedImportant: 2}},
		{"activity extends the grace", []step{{at: 0, active: desktop}, {at: 1, queue: "msg"}, {at: 20, active: desktop}},
			[]string{"50:msg"}, map[Reason]uint64{PublishedImportant: 1}},
		{"later messages coalesce into the held push", []step{{at: 0, active: desktop}, {at: 1, queue: "msg"}, {at: 3, queue: "msg"}},
			[]string{"30:msg"}, map[Reason]uint64{PublishedImportant: 1, SuppressedGrace: 1}},
		{"the phone resuming withdraws the held push", []step{{at: 0, active: desktop}, {at: 1, queue: "msg"}, {at: 10, resume: true}},
			nil, map[Reason]uint64{SuppressedWithdrawn: 1}},
		{"after the grace, pushes go at once", []step{{at: 0, active: desktop}, {at: 31, queue: "msg"}},
			[]string{"32:msg"}, map[Reason]uint64{PublishedImportant: 1}},
		{"the phone's own activity holds nothing", []step{{at: 0, active: phone}, {at: 1, queue: "msg"}},
			[]string{"2:msg"}, map[Reason]uint64{PublishedImportant: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{GracePeriod: 30 * time.Second, WithBody: true})
			h.open(at(0), phone)
			h.open(at(0), desktop)
			h.enable(at(0), phone, "A")
			h.hibernate(at(0), phone)
			var got []string
			var wake time.Time
			collect := func(now time.Time, d Decisions) {
				for _, p := range d.Publishes {
					kind := "call"
					if p.Body == "hello" {
						kind = "msg"
					}
					got = append(got, fmt.Sprintf("%v:%s", now.Sub(epoch).Seconds(), kind))
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
			ctx := context.Background()
			for _, s := range tc.steps {
				now := at(s.at)
				runUntil(now)
				switch {
				case s.active != "":
					collect(now, h.must(h.e.Handle(ctx, events.SessionActive{Now: now, Session: s.active})))
				case s.resume:
					collect(now, h.must(h.e.HibernationEnd(ctx, events.HibernationEnded{Now: now, Session: phone})))
				case s.queue == "call":
					st := h.chatState()
					st.CallProposal = true
					collect(now, h.queued(now, phone, st))
				default:
					collect(now, h.queued(now, phone, h.chat("hello")))
				}
			}
			runUntil(at(3600))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("pushes %v, want %v", got, tc.want)
			}
			m := h.e.Metrics()
			for r := range NumReasons {
				if m.Counts[r] != tc.count[r] {
					t.Errorf("%v counted %d, want %d", r, m.Counts[r], tc.count[r])
				}
			}
		})
	}
}
