package session

import (
	"time"

	"github.com/pushrules/pushrules/events"
)

// Marks remembers which stanzas (by Key) were already pushed to one
// registration, for a window of time and up to a fixed number of keys: the
// oldest mark is forgotten first. Its zero value is not usable; call
// NewMarks.
type Marks struct {
	window time.Duration
	max    int
	at     map[events.Key]time.Time
	order  []events.Key // ring of keys in insertion order
	head   int          // index of the oldest key in order
}

// NewMarks returns an empty set that forgets a mark after window and keeps
// at most max marks (max < 1 is taken as 1).
func NewMarks(window time.Duration, max int) *Marks {
	if max < 1 {
		max = 1
	}
	return &Marks{window: window, max: max, at: make(map[events.Key]time.Time)}
}

// Has reports whether key was marked less than the window before now. The
// zero Key is never marked.
func (m *Marks) Has(key events.Key, now time.Time) bool {
	if key == 0 || m == nil {
		return false
	}
	t, ok := m.at[key]
	return ok && now.Sub(t) < m.window
}

// Add marks key at now, forgetting the oldest mark when the set is full.
// Marking a key again refreshes its time but not its place in the order.
func (m *Marks) Add(key events.Key, now time.Time) {
	if key == 0 {
		return
	}
	if _, ok := m.at[key]; ok {
		m.at[key] = now
		return
	}
	if len(m.order) < m.max {
		m.order = append(m.order, key)
	} else {
		delete(m.at, m.order[m.head])
		m.order[m.head] = key
		m.head = (m.head + 1) % m.max
	}
	m.at[key] = now
}

// Len returns the number of marks held (expired ones included until Expire).
func (m *Marks) Len() int { return len(m.at) }

// Expire forgets every mark older than the window and reports whether the
// set is now empty.
func (m *Marks) Expire(now time.Time) (empty bool) {
	for k, t := range m.at {
		if now.Sub(t) >= m.window {
			delete(m.at, k)
		}
	}
	if len(m.at) < len(m.order) {
		kept := make([]events.Key, 0, len(m.at))
		for i := range m.order {
			k := m.order[(m.head+i)%len(m.order)]
			if _, ok := m.at[k]; ok {
				kept = append(kept, k)
			}
		}
		m.order, m.head = kept, 0
	}
	return len(m.at) == 0
}
