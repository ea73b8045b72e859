package push

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// sink is a Metrics that adds up what it is given.
type sink struct {
	mu     sync.Mutex
	counts [NumReasons]uint64
	errors map[string]uint64
	hist   [NumHistograms]uint64
}

func (s *sink) Count(r Reason, n uint64) { s.mu.Lock(); s.counts[r] += n; s.mu.Unlock() }
func (s *sink) PublishError(typ, cond string) {
	s.mu.Lock()
	if s.errors == nil {
		s.errors = map[string]uint64{}
	}
	s.errors[typ+"/"+cond]++
	s.mu.Unlock()
}
func (s *sink) Observe(h Histogram, _ time.Duration) { s.mu.Lock(); s.hist[h]++; s.mu.Unlock() }

// TestMetricsReasons checks that each decision path counts exactly the
// reasons it should, once each, in the engine's counts and in the host's
// Metrics alike.
func TestMetricsReasons(t *testing.T) {
	for _, tc := range []struct {
		name    string
		run     func(h *harness)
		want    map[Reason]uint64
		changes map[string]uint64 // nil: only enables
	}{
		{"hibernation queue", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.hibernate(at(1), phone, h.chat("a"), h.chat("b"), h.chatState())
		}, map[Reason]uint64{PublishedImportant: 1, PublishedUnimportant: 1, SuppressedBatch: 1}, nil},
		{"batch of a burst", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.hibernate(at(1), phone)
			for range 10 {
				h.queued(at(2), phone, h.chat("x"))
			}
			h.e.Wake(context.Background(), at(3))
		}, map[Reason]uint64{PublishedImportant: 1, SuppressedBatch: 9}, nil},
		{"offline after the queue pushed it", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			st := h.chat("a")
			h.hibernate(at(1), phone, st)
			h.close(at(2), phone)
			h.offline(at(3), st)
		}, map[Reason]uint64{PublishedImportant: 1, SuppressedDedup: 1}, nil},
		{"archive skips a bound registration", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.archived(at(1), h.chat("a"))
		}, map[Reason]uint64{SuppressedBound: 1}, nil},
		{"unbound session", func(h *harness) {
			h.open(at(0), phone)
			h.hibernate(at(1), phone, h.chat("a"))
			h.queued(at(2), phone, h.chat("b"))
		}, map[Reason]uint64{SuppressedUnbound: 2}, map[string]uint64{}},
		{"withdrawn by resumption", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.hibernate(at(1), phone)
			h.queued(at(2), phone, h.chat("a"))
			h.must(h.e.HibernationEnd(context.Background(), events.HibernationEnded{Now: at(2.5), Session: phone}))
		}, map[Reason]uint64{SuppressedWithdrawn: 1}, nil},
		{"ping", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.must(h.e.Handle(context.Background(), events.Ping{Now: at(1), User: juliet}))
		}, map[Reason]uint64{PublishedPing: 1}, nil},
		{"answers: success, wait, cancel, unknown condition", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.close(at(0), phone)
			var pubs []Publish
			for range 4 {
				pubs = append(pubs, h.offline(at(1), h.chat("a")).Publishes...)
			}
			h.respond(at(2), pubs[0], "", "")
			h.respond(at(2), pubs[1], "wait", "resource-constraint")
			h.respond(at(2), pubs[2], "cancel", "item-not-found")
			h.respond(at(2), pubs[3], "cancel", "made-up")
		}, map[Reason]uint64{PublishedImportant: 4, ResultSuccess: 1, ResultWait: 1, ResultError: 2},
			map[string]uint64{"enabled": 1, "failed": 1}},
		{"removals: evicted, disabled, errors, deleted", func(h *harness) {
			h.open(at(0), phone)
			for _, n := range []string{"A", "B", "C", "D", "E", "F"} { // MaxDevices 5: A evicted
				h.enable(at(0), phone, n)
			}
			h.iq(at(1), phone, "<disable xmlns='urn:xmpp:push:0' jid='"+service+"' node='B'/>")
			h.close(at(1), phone)
			p := h.offline(at(2), h.chat("a")).Publishes       // to C, D, E, F
			h.respond(at(3), p[0], "cancel", "item-not-found") // MaxErrors 1: removed
			h.must(h.e.Handle(context.Background(), events.UserDeleted{Now: at(4), User: juliet}))
		}, map[Reason]uint64{PublishedImportant: 4, ResultError: 1},
			map[string]uint64{"enabled": 6, "evicted": 1, "disabled": 1, "failed": 1, "user-deleted": 3}},
		{"expired publish", func(h *harness) {
			h.open(at(0), phone)
			h.enable(at(0), phone, "A")
			h.close(at(0), phone)
			h.offline(at(1), h.chat("a"))
			h.e.Sweep(at(1000))
		}, map[Reason]uint64{PublishedImportant: 1, PublishExpired: 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{}
			h := newHarness(t, Config{MaxErrors: 1, Metrics: s, PublishTimeout: time.Minute})
			tc.run(h)
			got := h.e.Metrics()
			for r := range NumReasons {
				if got.Counts[r] != tc.want[r] {
					t.Errorf("%v: counted %d, want %d", r, got.Counts[r], tc.want[r])
				}
				if s.counts[r] != got.Counts[r] {
					t.Errorf("%v: host's Metrics got %d, engine counted %d", r, s.counts[r], got.Counts[r])
				}
			}
			wantChanges := tc.changes
			if wantChanges == nil {
				wantChanges = map[string]uint64{"enabled": 1}
			}
			if fmt.Sprint(got.Changes) != fmt.Sprint(wantChanges) {
				t.Errorf("changes %v, want %v", got.Changes, wantChanges)
			}
			if fmt.Sprint(s.errors) != fmt.Sprint(nilIfEmpty(got.Errors)) {
				t.Errorf("errors: host's %v, engine's %v", s.errors, got.Errors)
			}
			if n := got.Histograms[StanzaToPush].Count; n != got.Counts[PublishedImportant]+got.Counts[PublishedUnimportant]+got.Counts[PublishedPing] || s.hist[StanzaToPush] != n {
				t.Errorf("stanza_to_push observed %d (host %d) for %v", n, s.hist[StanzaToPush], got.Counts)
			}
		})
	}
}

func nilIfEmpty(m map[string]uint64) map[string]uint64 {
	if len(m) == 0 {
		return nil
	}
	return m
}

// TestMetricsErrors checks the error answers' labels: RFC 6120's types and
// conditions as they are, anything else as "other".
func TestMetricsErrors(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 100})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	answers := [][2]string{{"cancel", "item-not-found"}, {"cancel", "item-not-found"}, {"wait", "x-custom"},
		{"bogus", "gone"}, {"auth", "not-authorized"}}
	for _, a := range answers {
		p := h.offline(at(1), h.chat("a")).Publishes
		h.respond(at(2), p[0], a[0], a[1])
	}
	got := h.e.Metrics().Errors
	want := map[string]uint64{"cancel/item-not-found": 2, "wait/other": 1, "other/gone": 1, "auth/not-authorized": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
}

// TestMetricsHistograms checks the stanza-to-push delays on the events'
// clock and that handler latency is measured only when asked for.
func TestMetricsHistograms(t *testing.T) {
	for _, measure := range []bool{false, true} {
		h := newHarness(t, Config{BatchWindow: 5 * time.Second, MeasureLatency: measure})
		h.open(at(0), phone)
		h.enable(at(0), phone, "A")
		h.hibernate(at(1), phone)
		h.queued(at(2), phone, h.chat("a"))
		h.queued(at(3), phone, h.chat("b"))
		h.e.Wake(context.Background(), at(7))
		m := h.e.Metrics()
		tp := m.Histograms[StanzaToPush]
		if tp.Count != 1 || tp.Sum != 5*time.Second || tp.Buckets[bucket(5*time.Second)] != 1 {
			t.Errorf("stanza_to_push %+v, want one of 5s", tp)
		}
		if lat := m.Histograms[HandlerLatency].Count; (lat > 0) != measure || (measure && lat != 5) {
			t.Errorf("MeasureLatency %v: %d handler latencies", measure, lat)
		}
	}
}

// TestMetricsStanzaToPushRun checks that publishes decided together for
// stanzas that arrived together (both classes of one batch) each count in
// the stanza-to-push histogram, for the engine and the host.
func TestMetricsStanzaToPushRun(t *testing.T) {
	s := new(sink)
	h := newHarness(t, Config{BatchWindow: 5 * time.Second, Metrics: s})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(1), phone)
	h.queued(at(2), phone, h.chat("a"))
	h.queued(at(3), phone, h.chatState())
	if d := h.e.Wake(context.Background(), at(7)); len(d.Publishes) != 2 {
		t.Fatalf("%d publishes, want one per class", len(d.Publishes))
	}
	tp := h.e.Metrics().Histograms[StanzaToPush]
	if tp.Count != 2 || tp.Sum != 10*time.Second || tp.Buckets[bucket(5*time.Second)] != 2 || s.hist[StanzaToPush] != 2 {
		t.Errorf("stanza_to_push %+v, host %d; want two of 5s", tp, s.hist[StanzaToPush])
	}
}

func TestBucket(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {time.Microsecond, 0}, {time.Microsecond + 1, 1}, {time.Second, 6}, {time.Hour, 10}, {time.Hour + 1, 11}} {
		if got := bucket(tc.d); got != tc.want {
			t.Errorf("bucket(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	if b := BucketBounds(); len(b) != NumBuckets-1 || b[0] != time.Microsecond {
		t.Errorf("BucketBounds %v", b)
	}
}

// TestReasonNames checks that every reason has its own name.
func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := range NumReasons {
		n := r.String()
		if n == "" || n == "unknown" || seen[n] {
			t.Errorf("reason %d named %q", r, n)
		}
		seen[n] = true
	}
	if NumReasons.String() != "unknown" || NumHistograms.String() != "unknown" {
		t.Error("out-of-range names")
	}
}

func TestExpvar(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.hibernate(at(1), phone, h.chat("a"), h.chat("b"))
	var got struct {
		Counts     map[string]uint64
		Errors     map[string]uint64
		Histograms map[string]struct {
			LeSeconds  []float64 `json:"le_seconds"`
			Buckets    []uint64
			Count      uint64
			SumSeconds float64 `json:"sum_seconds"`
		}
	}
	if err := json.Unmarshal([]byte(Expvar(h.e).String()), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Counts) != int(NumReasons) || got.Counts["published_important"] != 1 || got.Counts["suppressed_batch"] != 1 {
		t.Errorf("counts %v", got.Counts)
	}
	tp := got.Histograms["stanza_to_push"]
	if tp.Count != 1 || len(tp.Buckets) != len(tp.LeSeconds)+1 || tp.Buckets[0] != 1 {
		t.Errorf("stanza_to_push %+v", tp)
	}
	var b strings.Builder
	if err := h.e.Metrics().WriteTable(&b); err != nil || !strings.Contains(b.String(), "published_important") {
		t.Errorf("table %q, %v", b.String(), err)
	}
}
