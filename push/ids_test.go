package push

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
)

// Publish ids are cut from shared chunks. An id handed out must keep its
// text while later events fill the chunk and start new ones, and every
// id must still be matched by its answer.
func TestIDsKeptAcrossChunks(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 1, PublishTimeout: time.Hour, IDPrefix: "p-"})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	const events = 3 * idChunk / len("p-.0") // well past one chunk's worth of ids
	var pubs []Publish
	var texts []string
	seen := make(map[string]bool)
	for i := range events {
		d := h.offline(at(float64(1+i)), h.chat("x"))
		if len(d.Publishes) != 1 {
			t.Fatalf("event %d: %d publishes, want 1", i, len(d.Publishes))
		}
		p := d.Publishes[0]
		if seen[p.ID] {
			t.Fatalf("event %d: id %q handed out twice", i, p.ID)
		}
		seen[p.ID] = true
		pubs = append(pubs, p)
		texts = append(texts, strings.Clone(p.ID))
	}
	for i, p := range pubs {
		if p.ID != texts[i] {
			t.Fatalf("id %d changed after it was handed out: %q, was %q", i, p.ID, texts[i])
		}
	}
	for _, p := range pubs {
		h.respond(at(float64(events+1)), p, "", "")
	}
	if s := h.e.Stats(); s.AnswersUnknown != 0 || s.PendingPublishes != 0 {
		t.Fatalf("after answering every id: AnswersUnknown %d, PendingPublishes %d, want 0 and 0", s.AnswersUnknown, s.PendingPublishes)
	}
}

// The publishes of one event share a sealed block and differ in the place
// after it, written with one digit below ten and more above: every
// answer must still reach its own registration.
func TestIDsOfManyPublishes(t *testing.T) {
	const regs = 12
	h := newHarness(t, Config{MaxErrors: 1, MaxDevices: regs, PublishTimeout: time.Hour, IDPrefix: "p-"})
	h.open(at(0), phone)
	for i := range regs {
		h.enable(at(0), phone, "n"+strconv.Itoa(i))
	}
	h.close(at(0), phone)
	d := h.offline(at(1), h.chat("x"))
	if len(d.Publishes) != regs {
		t.Fatalf("%d publishes, want %d", len(d.Publishes), regs)
	}
	block := d.Publishes[0].ID[:strings.LastIndexByte(d.Publishes[0].ID, '.')]
	var kept []string
	for i, p := range d.Publishes {
		if want := block + "." + strconv.Itoa(i); p.ID != want {
			t.Errorf("publish %d: id %q, want %q", i, p.ID, want)
		}
		if i%2 == 1 {
			h.respond(at(2), p, "cancel", "item-not-found") // removes its registration (MaxErrors 1)
		} else {
			h.respond(at(2), p, "", "")
			kept = append(kept, p.Registration.Node())
		}
	}
	var left []string
	for _, id := range h.registrations() {
		left = append(left, id.Node())
	}
	slices.Sort(left)
	slices.Sort(kept)
	if !slices.Equal(left, kept) {
		t.Fatalf("registrations left %v, want %v (each answer applied to its own publish)", left, kept)
	}
	if s := h.e.Stats(); s.AnswersUnknown != 0 || s.PendingPublishes != 0 {
		t.Fatalf("AnswersUnknown %d, PendingPublishes %d, want 0 and 0", s.AnswersUnknown, s.PendingPublishes)
	}
}

// deadline adds exactly, and saturates where Unix nanoseconds end.
func TestDeadline(t *testing.T) {
	now := time.Unix(1_700_000_000, 5)
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{
		{0, now.UnixNano()},
		{5 * time.Minute, now.Add(5 * time.Minute).UnixNano()},
		{math.MaxInt64, math.MaxInt64},
		{math.MaxInt64 - time.Duration(now.UnixNano()), math.MaxInt64},
	} {
		if got := deadline(now, tc.d); got != tc.want {
			t.Errorf("deadline(%v, %v) = %d, want %d", now, tc.d, got, tc.want)
		}
	}
}

// A pending shard remembers at most maxPendingPerShard publishes; past
// that it forgets the oldest unanswered one, which counts as expired in
// Stats and in the metrics alike, for a XEP-0357 publish as for a Push 2.0
// notification.
func TestPendingDropCounted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		enable []byte
	}{
		{"XEP-0357", []byte("<iq type='set'><enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='A'/></iq>")},
		{"Push 2.0", enable2(t, nil, push2.Match{Profile: push2.MatchAll})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Config{PublishTimeout: 24 * time.Hour, IDPrefix: "p-"})
			if err != nil {
				t.Fatal(err)
			}
			enabled2(t, e, phone, tc.enable)
			const extra = 3
			pushed := 0
			for i := range maxPendingPerShard + extra {
				st := events.Stanza{Key: events.Key(i + 1), Kind: events.KindMessage, Type: "chat", From: romeo, To: juliet, Body: "x", HasBody: true}
				d := mustHandle(t, e, events.OfflineMessage{Now: at(1), User: juliet, Stanza: st})
				pushed += len(d.Publishes) + len(d.Notifications)
			}
			if pushed != maxPendingPerShard+extra {
				t.Fatalf("%d pushes, want %d", pushed, maxPendingPerShard+extra)
			}
			if s, m := e.Stats(), e.Metrics(); s.PublishesExpired != extra || m.Counts[PublishExpired] != extra {
				t.Fatalf("Stats().PublishesExpired %d, Metrics PublishExpired %d; want %d and %d",
					s.PublishesExpired, m.Counts[PublishExpired], extra, extra)
			}
		})
	}
}
