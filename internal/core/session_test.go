package core

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func msg(key events.Key, body string) events.Stanza {
	return events.Stanza{Key: key, Kind: events.KindMessage, Type: "chat", Body: body, HasBody: body != ""}
}

const regA, regB = registry.Identifier("push.example.net<A"), registry.Identifier("push.example.net<B")

func TestMarks(t *testing.T) {
	m := NewMarks(time.Minute, 3)
	if m.Has(0, regA, t0) {
		t.Fatal("zero key marked")
	}
	m.Add(0, regA, t0)
	if m.Len() != 0 {
		t.Fatal("zero key stored")
	}
	m.Add(1, regA, t0)
	if !m.Has(1, regA, t0) || m.Has(1, regB, t0) {
		t.Fatal("marks are per registration")
	}
	m.Add(1, regB, t0)
	if !m.Has(1, regB, t0) || m.Len() != 1 {
		t.Fatal("one entry per stanza")
	}
	for k := events.Key(2); k <= 4; k++ {
		m.Add(k, regA, t0)
	}
	if m.Has(1, regA, t0) || !m.Has(2, regA, t0) || !m.Has(4, regA, t0) || m.Len() != 3 {
		t.Fatalf("oldest not evicted: len %d", m.Len())
	}
	if m.Has(2, regA, t0.Add(time.Minute)) {
		t.Fatal("mark outlived the window")
	}
	m.Forget(regA)
	if m.Has(3, regA, t0) {
		t.Fatal("Forget kept a mark")
	}
	m.Add(5, regB, t0.Add(50*time.Second))
	if m.Expire(t0.Add(70*time.Second)) || m.Len() != 1 || !m.Has(5, regB, t0.Add(70*time.Second)) {
		t.Fatalf("expire kept %d", m.Len())
	}
	if !m.Expire(t0.Add(time.Hour)) {
		t.Fatal("not empty after every mark expired")
	}
	// More registrations than bits: the reused bit loses its marks, the
	// others keep theirs.
	m = NewMarks(time.Hour, 1000)
	for i := range MaxMarkedRegistrations + 1 {
		m.Add(events.Key(i+1), registry.Identifier(fmt.Sprint(i)), t0)
	}
	if m.Has(1, "0", t0) || !m.Has(2, "1", t0) || !m.Has(MaxMarkedRegistrations+1, registry.Identifier(fmt.Sprint(MaxMarkedRegistrations)), t0) {
		t.Fatal("bit reuse went wrong")
	}
}

func TestSelect(t *testing.T) {
	chatState := events.Stanza{Key: 1, Kind: events.KindMessage, Type: "chat"}
	for _, tc := range []struct {
		name   string
		queue  []events.Stanza
		marked []events.Key
		want   []events.Key // keys of the picked stanzas, in order
	}{
		{"empty", nil, nil, nil},
		{"one class each, in order of appearance", []events.Stanza{chatState, msg(2, "a"), msg(3, "b")}, nil, []events.Key{1, 2}},
		{"important first", []events.Stanza{msg(2, "a"), chatState}, nil, []events.Key{2, 1}},
		{"marked skipped", []events.Stanza{msg(2, "a"), msg(3, "b")}, []events.Key{2}, []events.Key{3}},
		{"all marked", []events.Stanza{msg(2, "a")}, []events.Key{2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMarks(time.Hour, 10)
			for _, k := range tc.marked {
				m.Add(k, regA, t0)
			}
			var out Out
			picks, n := Select(tc.queue, m, &registry.Registration{ID: regA}, t0, nil, FilterAll, &out)
			var got []events.Key
			for _, p := range picks[:n] {
				got = append(got, p.Stanza.Key)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("picked %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("picked %v, want %v", got, tc.want)
				}
			}
			if n > 0 {
				for _, st := range tc.queue {
					if !m.Has(st.Key, regA, t0) {
						t.Errorf("stanza %d of a pushed class not marked", st.Key)
					}
				}
			}
		})
	}
}

// TestSelectMarksOnlyTaken checks that Select marks, of a class it picked,
// only the stanzas the registration takes and the policy filter allows:
// the others were not pushed, and another path may still push them.
func TestSelectMarksOnlyTaken(t *testing.T) {
	muted, err := registry.NewExtensions(registry.ExtensionSettings{Muted: []string{"tybalt@capulet.example"}})
	if err != nil {
		t.Fatal(err)
	}
	from := func(st events.Stanza, jid string) events.Stanza { st.From = jid; return st }
	headline := events.Stanza{Key: 4, Kind: events.KindMessage, Type: "headline", Body: "news", HasBody: true}
	typing := events.Stanza{Key: 5, Kind: events.KindMessage, Type: "chat"}
	for _, tc := range []struct {
		name     string
		queue    []events.Stanza
		ext      registry.Extensions
		filter   Filter
		want     []events.Key // picked
		unmarked []events.Key
	}{
		{"muted sender", []events.Stanza{from(msg(1, "a"), "romeo@montague.example/x"), from(msg(2, "b"), "tybalt@capulet.example/y"), from(msg(3, "c"), "romeo@montague.example/x")},
			muted, FilterAll, []events.Key{1}, []events.Key{2}},
		{"policy filter", []events.Stanza{headline, typing, msg(6, "a")},
			registry.Extensions{}, FilterMessages, []events.Key{4, 6}, []events.Key{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Rules{}
			var u User
			r.Init(&u)
			m := NewMarks(time.Hour, 10)
			reg := &registry.Registration{User: "juliet@example.org", ID: regA, Extensions: tc.ext}
			var out Out
			picks, n := Select(tc.queue, m, reg, t0, r.taker(t0, &u, reg), tc.filter, &out)
			var got []events.Key
			for _, p := range picks[:n] {
				got = append(got, p.Stanza.Key)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("picked %v, want %v", got, tc.want)
			}
			for _, st := range tc.queue {
				if want := !slices.Contains(tc.unmarked, st.Key); m.Has(st.Key, regA, t0) != want {
					t.Errorf("stanza %d marked %v, want %v", st.Key, !want, want)
				}
			}
		})
	}
}

func TestBatch(t *testing.T) {
	var b Batch
	if b.Open() {
		t.Fatal("zero batch open")
	}
	if opened, kept := b.Add(t0, time.Second, new(msg(1, "a"))); !opened || !kept || !b.Due.Equal(t0.Add(time.Second)) {
		t.Fatal("first Add did not open the batch")
	}
	if opened, _ := b.Add(t0, time.Second, new(msg(2, "b"))); opened {
		t.Fatal("second Add reopened")
	}
	for i := range MaxBatch * 2 {
		b.Add(t0, time.Second, new(msg(events.Key(10+i), "x")))
	}
	if b.Len() != MaxBatch {
		t.Fatalf("batch grew to %d", b.Len())
	}
	b.Add(t0, time.Second, new(events.Stanza{Key: 5, Kind: events.KindPresence}))
	if b.Len() != MaxBatch+1 {
		t.Fatal("a full batch dropped the first stanza of a new class")
	}
	if _, kept := b.Add(t0, time.Second, new(events.Stanza{Key: 6, Kind: events.KindPresence})); kept || b.Len() != MaxBatch+1 {
		t.Fatal("a full batch kept a second stanza of an overflowed class")
	}
	b.Discard()
	if b.Open() || b.Len() != 0 {
		t.Fatal("Discard left stanzas")
	}
}

func TestUnbind(t *testing.T) {
	s := &Session{JID: "j@example.org/p"}
	s.Hibernating, s.Extended, s.Bound = true, true, true
	s.Batch.Add(t0, time.Second, new(msg(1, "a")))
	if !s.Unbind() || s.Bound || s.Extended || s.Batch.Len() != 0 {
		t.Fatalf("unbind of a hibernating extended session: %+v", s)
	}
	if s.Unbind() {
		t.Fatal("second unbind asked for a timeout again")
	}
}

// TestMarksModel checks Marks against a plain model (a map and a FIFO of
// keys) over random operations, including the full-ring evictions that
// leave stale index slots and the rebuilds that clear them, with limits on
// both sides of linearMarks.
func TestMarksModel(t *testing.T) {
	for _, limit := range []int{1, 3, 8, 37, 256} {
		m := NewMarks(time.Hour, limit)
		model := map[events.Key]map[registry.Identifier]bool{}
		ids := []registry.Identifier{regA, regB, "push.other.net<C"}
		var fifo []events.Key
		now := t0
		seed := uint64(limit)
		rnd := func(n int) int {
			seed = seed*6364136223846793005 + 1442695040888963407
			return int((seed >> 33) % uint64(n))
		}
		for i := range 20000 {
			now = now.Add(time.Second)
			k := events.Key(rnd(3*limit) + 1)
			id := ids[rnd(len(ids))]
			switch rnd(4) {
			case 0, 1:
				m.Add(k, id, now)
				if _, ok := model[k]; ok {
					model[k][id] = true
					break
				}
				if len(fifo) == limit {
					delete(model, fifo[0])
					fifo = fifo[1:]
				}
				fifo = append(fifo, k)
				model[k] = map[registry.Identifier]bool{id: true}
			default:
				want := model[k][id]
				if got := m.Has(k, id, now); got != want {
					t.Fatalf("limit %d, op %d: Has(%d, %s) = %v, want %v", limit, i, k, id, got, want)
				}
			}
			if m.Len() != len(model) {
				t.Fatalf("limit %d, op %d: Len %d, want %d", limit, i, m.Len(), len(model))
			}
		}
		// Expire forgets every mark older than the window.
		m.Expire(now.Add(time.Hour))
		if m.Len() != 0 {
			t.Fatalf("limit %d: %d marks left after the window", limit, m.Len())
		}
	}
}

// TestMarksReuseBit fills every registration bit, then marks for one more
// registration: it takes a bit in use, and the registration that had it
// loses its marks instead of lending them to the newcomer.
func TestMarksReuseBit(t *testing.T) {
	m := NewMarks(time.Hour, 1000)
	id := func(i int) registry.Identifier { return registry.NewIdentifier("push.example.net", fmt.Sprint(i)) }
	for i := range MaxMarkedRegistrations {
		m.Add(events.Key(i+1), id(i), t0)
	}
	newcomer := id(MaxMarkedRegistrations)
	m.Add(1000, newcomer, t0)
	if m.Has(1, newcomer, t0) || m.Has(1, id(0), t0) {
		t.Errorf("the reused bit kept its marks: newcomer %v, old owner %v", m.Has(1, newcomer, t0), m.Has(1, id(0), t0))
	}
	if !m.Has(1000, newcomer, t0) || !m.Has(2, id(1), t0) {
		t.Error("marks of the newcomer or of another registration were lost")
	}
}

// TestSelectScratch checks that Select keeps its scratch memory for the
// next call up to MaxBatch stanzas, and not for a longer queue.
func TestSelectScratch(t *testing.T) {
	var out Out
	for _, tc := range []struct{ n, kept int }{{10, 10}, {MaxBatch, MaxBatch}, {MaxBatch + 1, MaxBatch}} {
		queue := make([]events.Stanza, tc.n)
		for i := range queue {
			queue[i] = msg(events.Key(i+1), "a")
		}
		Select(queue, NewMarks(time.Hour, 10), &registry.Registration{ID: regA}, t0, nil, FilterAll, &out)
		if cap(out.scratch) != tc.kept {
			t.Errorf("after a queue of %d, scratch of %d kept, want %d", tc.n, cap(out.scratch), tc.kept)
		}
	}
}
