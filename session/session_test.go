package session

import (
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func msg(key events.Key, body string) events.Stanza {
	return events.Stanza{Key: key, Kind: events.KindMessage, Type: "chat", Body: body, HasBody: body != ""}
}

func TestMarks(t *testing.T) {
	m := NewMarks(time.Minute, 3)
	if m.Has(0, t0) {
		t.Fatal("zero key marked")
	}
	m.Add(0, t0)
	if m.Len() != 0 {
		t.Fatal("zero key stored")
	}
	for k := events.Key(1); k <= 4; k++ {
		m.Add(k, t0)
	}
	if m.Has(1, t0) || !m.Has(2, t0) || !m.Has(4, t0) || m.Len() != 3 {
		t.Fatalf("oldest not evicted: len %d", m.Len())
	}
	if m.Has(2, t0.Add(time.Minute)) {
		t.Fatal("mark outlived the window")
	}
	m.Add(5, t0.Add(50*time.Second))
	if m.Expire(t0.Add(70*time.Second)) || m.Len() != 1 || !m.Has(5, t0.Add(70*time.Second)) {
		t.Fatalf("expire kept %d", m.Len())
	}
	m.Add(6, t0.Add(71*time.Second))
	m.Add(7, t0.Add(72*time.Second))
	m.Add(8, t0.Add(73*time.Second)) // evicts 5, the oldest
	if m.Has(5, t0.Add(73*time.Second)) || !m.Has(6, t0.Add(73*time.Second)) {
		t.Fatal("ring order lost after Expire")
	}
	if !m.Expire(t0.Add(time.Hour)) {
		t.Fatal("not empty after every mark expired")
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
				m.Add(k, t0)
			}
			picks, n := Select(tc.queue, m, t0)
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
					if !m.Has(st.Key, t0) {
						t.Errorf("stanza %d of a pushed class not marked", st.Key)
					}
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
	if !b.Add(t0, time.Second, msg(1, "a")) || !b.Due.Equal(t0.Add(time.Second)) {
		t.Fatal("first Add did not open the batch")
	}
	if b.Add(t0, time.Second, msg(2, "b")) {
		t.Fatal("second Add reopened")
	}
	for i := range MaxBatch * 2 {
		b.Add(t0, time.Second, msg(events.Key(10+i), "x"))
	}
	if b.Len() != MaxBatch {
		t.Fatalf("batch grew to %d", b.Len())
	}
	b.Add(t0, time.Second, events.Stanza{Key: 5, Kind: events.KindPresence})
	if b.Len() != MaxBatch+1 {
		t.Fatal("a full batch dropped the first stanza of a new class")
	}
	b.Add(t0, time.Second, events.Stanza{Key: 6, Kind: events.KindPresence})
	if b.Len() != MaxBatch+1 {
		t.Fatal("a full batch kept a second stanza of an overflowed class")
	}
	b.Discard()
	if b.Open() || b.Len() != 0 {
		t.Fatal("Discard left stanzas")
	}
}

func TestUnbind(t *testing.T) {
	s := &State{JID: "j@example.org/p"}
	s.Hibernating, s.Extended, s.Bound = true, true, true
	s.Batch.Add(t0, time.Second, msg(1, "a"))
	if !s.Unbind() || s.Bound || s.Extended || s.Batch.Len() != 0 {
		t.Fatalf("unbind of a hibernating extended session: %+v", s)
	}
	if s.Unbind() {
		t.Fatal("second unbind asked for a timeout again")
	}
}
