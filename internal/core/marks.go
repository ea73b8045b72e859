package core

import (
	"time"
	"unsafe"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// Marks remembers, for one user, which stanzas (by Key) were already pushed
// to which of the user's registrations, for a window of time and up to a
// fixed number of stanzas: the oldest stanza is forgotten first. Its zero
// value is not usable: call NewMarks, or Init for one embedded in another
// struct. A Marks must not be copied once used (its first entries live
// inside it).
//
// Each remembered stanza carries a bit set of the registrations it was
// pushed to, so a message pushed to all of a user's devices costs one
// entry. The entries form a ring in insertion order. The first few
// entries and registrations are stored inside the Marks itself, so a
// user's first pushes allocate nothing and cost no extra memory reads. Up
// to linearMarks entries are searched in turn; past that, an
// open-addressing index (linear probing) finds them. Forgetting the oldest
// entry leaves its index slot in place, stale (a lookup checks the entry's
// key), and the index is rebuilt once stale and live slots fill three
// quarters of it: the constant insert-and-evict of a full set touches one
// slot and one entry, and allocates nothing.
type Marks struct {
	window  time.Duration
	max     int
	ids     []registry.Identifier // bit i of an entry stands for ids[i]; "" is free
	entries []mark                // ring, oldest at head once full
	index   []uint32              // nil up to linearMarks entries; else 0: empty, else position in entries + 1, with a tag of the key's hash << 16
	next    int32                 // the bit to take when every bit is in use
	head    int32
	stale   int32 // index slots left by forgotten entries
	shift   uint8 // 64 - log2(len(index))

	inlineIDs     [inlineIDs]registry.Identifier
	inlineEntries [inlineEntries]mark
}

type mark struct {
	key  events.Key
	at   int64 // when last marked, unix nanoseconds
	bits uint64
}

const (
	// linearMarks is the number of entries searched without an index.
	linearMarks = 8
	// inlineIDs and inlineEntries are the registrations and entries held
	// inside a Marks before it allocates.
	inlineIDs     = 3
	inlineEntries = 4
)

// MaxMarks is the largest number of stanzas a set can remember, and
// MaxMarkedRegistrations the number of registrations it tells apart.
const (
	MaxMarks               = 1 << 15
	MaxMarkedRegistrations = 64
)

// NewMarks returns an empty set that forgets a stanza after window and
// remembers at most limit stanzas (clamped to 1..MaxMarks).
func NewMarks(window time.Duration, limit int) *Marks {
	m := new(Marks)
	m.Init(window, limit)
	return m
}

// Init empties m and sets its window and limit as NewMarks does, dropping
// whatever memory m held.
func (m *Marks) Init(window time.Duration, limit int) {
	*m = Marks{window: window, max: min(max(limit, 1), MaxMarks)}
	m.ids = m.inlineIDs[:0]
	m.entries = m.inlineEntries[:0]
}

// bit returns the bit standing for id, taking a free one when add is set
// (or, when all are in use, reusing one in turn: the registration that had
// it loses its marks). It returns 0 when id has no bit and add is not set.
func (m *Marks) bit(id registry.Identifier, add bool) uint64 {
	// An identifier usually shares its bytes with the one marked before
	// (both are the Store's): compare addresses first, so that the user's
	// other identifiers, as long as id, are not read byte by byte.
	for i, x := range m.ids {
		if len(x) == len(id) && unsafe.StringData(string(x)) == unsafe.StringData(string(id)) {
			return 1 << i
		}
	}
	free := -1
	for i, x := range m.ids {
		if x == id {
			return 1 << i
		}
		if x == "" && free < 0 {
			free = i
		}
	}
	if !add {
		return 0
	}
	switch {
	case free >= 0:
	case len(m.ids) < MaxMarkedRegistrations:
		free = len(m.ids)
		m.ids = append(m.ids, "")
	default:
		free = int(m.next)
		m.next = (m.next + 1) % MaxMarkedRegistrations
		m.clearBit(1 << free)
	}
	m.ids[free] = id
	return 1 << free
}

func (m *Marks) clearBit(b uint64) {
	for i := range m.entries {
		m.entries[i].bits &^= b
	}
}

// Forget drops every mark of registration id (it was removed).
func (m *Marks) Forget(id registry.Identifier) {
	for i, x := range m.ids {
		if x == id {
			m.clearBit(1 << i)
			m.ids[i] = ""
		}
	}
}

// hash spreads key for the index: its top bits pick the home slot, its
// bits 16..31 are the tag.
func hash(key events.Key) uint64 { return uint64(key) * 0x9E3779B97F4A7C15 }

// find returns the position in entries of key, or -1. With an index, it
// reads an entry only when a slot's tag is key's: a miss rarely leaves the
// index.
func (m *Marks) find(key events.Key) int {
	if m.index == nil {
		for i := range m.entries {
			if m.entries[i].key == key {
				return i
			}
		}
		return -1
	}
	mask := len(m.index) - 1
	h := hash(key)
	tag := uint32(h>>16) & 0xffff
	for i := int(h >> m.shift); ; i = (i + 1) & mask {
		x := m.index[i]
		if x == 0 {
			return -1
		}
		if x>>16 == tag {
			if pos := int(x&0xffff) - 1; m.entries[pos].key == key {
				return pos
			}
		}
	}
}

// Has reports whether key was pushed to registration id less than the
// window before now. The zero Key is never marked.
func (m *Marks) Has(key events.Key, id registry.Identifier, now time.Time) bool {
	if key == 0 || m == nil {
		return false
	}
	i := m.find(key)
	if i < 0 {
		return false
	}
	e := &m.entries[i]
	return e.bits&m.bit(id, false) != 0 && now.UnixNano()-e.at < int64(m.window)
}

// Bit returns the bit standing for registration id in the masks of Pushed
// and Mark, assigning one if needed.
func (m *Marks) Bit(id registry.Identifier) uint64 { return m.bit(id, true) }

// Pushed returns the bits (see Bit) of the registrations key was pushed to
// less than the window before now; 0 for the zero Key.
func (m *Marks) Pushed(key events.Key, now time.Time) uint64 {
	if key == 0 || m == nil {
		return 0
	}
	i := m.find(key)
	if i < 0 {
		return 0
	}
	e := &m.entries[i]
	if now.UnixNano()-e.at >= int64(m.window) {
		return 0
	}
	return e.bits
}

// Add records that key was pushed to registration id at now, forgetting
// the oldest stanza when the set is full. Marking a stanza again refreshes
// its time but not its place in the order.
func (m *Marks) Add(key events.Key, id registry.Identifier, now time.Time) {
	m.Mark(key, m.bit(id, true), now)
}

// Mark records that key was pushed to the registrations of bits (see Bit)
// at now, as Add does for one.
func (m *Marks) Mark(key events.Key, b uint64, now time.Time) {
	if key == 0 || b == 0 {
		return
	}
	t := now.UnixNano()
	if i := m.find(key); i >= 0 {
		e := &m.entries[i]
		if t-e.at >= int64(m.window) {
			e.bits = 0 // expired: the earlier pushes no longer count
		}
		e.at, e.bits = t, e.bits|b
		return
	}
	var pos int
	if len(m.entries) < m.max {
		pos = len(m.entries)
		m.entries = append(m.entries, mark{key: key, at: t, bits: b})
	} else {
		pos = int(m.head)
		m.entries[pos] = mark{key: key, at: t, bits: b}
		m.head = int32((pos + 1) % len(m.entries))
		if m.index != nil {
			m.stale++
		}
	}
	switch {
	case m.index == nil && len(m.entries) <= linearMarks:
	case m.index == nil || 4*(len(m.entries)+int(m.stale)) > 3*len(m.index):
		m.rebuild()
	default:
		m.insert(key, pos)
	}
}

func (m *Marks) insert(key events.Key, pos int) {
	mask := len(m.index) - 1
	h := hash(key)
	i := int(h >> m.shift)
	for m.index[i] != 0 {
		i = (i + 1) & mask
	}
	m.index[i] = uint32(pos+1) | uint32(h>>16)&0xffff<<16
}

// rebuild drops the index when a linear search will do, or else sizes it
// for the entries held (at most half full) and fills it again.
func (m *Marks) rebuild() {
	m.stale = 0
	if len(m.entries) <= linearMarks {
		m.index = nil
		return
	}
	size, bits := 16, uint8(4)
	for size < 2*len(m.entries) {
		size, bits = 2*size, bits+1
	}
	if len(m.index) == size {
		clear(m.index)
	} else {
		m.index = make([]uint32, size)
	}
	m.shift = 64 - bits
	for pos := range m.entries {
		m.insert(m.entries[pos].key, pos)
	}
}

// Len returns the number of stanzas remembered (expired ones included until
// Expire).
func (m *Marks) Len() int { return len(m.entries) }

// Expire forgets every stanza marked longer than the window ago and reports
// whether the set is now empty.
func (m *Marks) Expire(now time.Time) (empty bool) {
	t := now.UnixNano()
	n := len(m.entries)
	expired := 0
	for i := range m.entries {
		if t-m.entries[i].at >= int64(m.window) {
			expired++
		}
	}
	if expired == 0 {
		return n == 0
	}
	var few [inlineEntries]mark
	kept := few[:0]
	if n-expired > inlineEntries {
		kept = make([]mark, 0, n-expired)
	}
	for i := range n {
		e := m.entries[(int(m.head)+i)%n]
		if t-e.at < int64(m.window) {
			kept = append(kept, e)
		}
	}
	if len(kept) <= inlineEntries {
		kept = append(m.inlineEntries[:0], kept...) // kept is few: no overlap
	}
	m.entries, m.head, m.index = kept, 0, nil
	m.rebuild()
	return len(kept) == 0
}
