package cache

import (
	"sync"
	"sync/atomic"

	"github.com/pushrules/pushrules/registry"
)

// shard holds the entries of the users that hash to it, with its own share
// of the bounds. Every field but the counters is guarded by mu; a hit needs
// only the read lock.
type shard struct {
	mu      sync.RWMutex
	users   map[string]*entry
	ring    []*entry // the CLOCK ring: every entry, in no particular order
	hand    int      // the next ring slot the CLOCK sweep looks at
	bytes   int      // form bytes of the entries
	flights map[string]*flight

	hits, misses, evictions atomic.Uint64
	_                       [64]byte // keeps neighbouring shards' locks off one cache line
}

// entry is one cached user: what the underlying store's Load returned.
type entry struct {
	user  string
	regs  []registry.Registration // owned by the cache; changed only under the write lock
	bytes int                     // form bytes of regs
	slot  int                     // index in the ring
	ref   atomic.Bool             // CLOCK reference bit, set by hits under the read lock
}

// flight counts the loads of a user in progress and the invalidations of
// that user since the first of them started: a load fills the cache only if
// gen is still what it was when the load started.
type flight struct {
	loads int
	gen   uint64
}

func (sh *shard) init() {
	sh.users = make(map[string]*entry)
	sh.flights = make(map[string]*flight)
}

// begin registers a load of user and returns its flight and generation.
// The caller holds the write lock.
func (sh *shard) begin(user string) (*flight, uint64) {
	f := sh.flights[user]
	if f == nil {
		f = &flight{}
		sh.flights[user] = f
	}
	f.loads++
	return f, f.gen
}

// end unregisters a load begun with begin. The caller holds the write lock.
func (sh *shard) end(user string, f *flight) {
	f.loads--
	if f.loads == 0 {
		delete(sh.flights, user)
	}
}

// drop removes the user's entry, if any, and makes the loads of the user in
// progress leave the cache alone. The caller holds the write lock.
func (sh *shard) drop(user string) {
	if f := sh.flights[user]; f != nil {
		f.gen++
	}
	if e := sh.users[user]; e != nil {
		sh.remove(e)
	}
}

// clear removes every entry. Loads in progress are stopped from filling by
// the caller (the Store's epoch). The caller holds the write lock.
func (sh *shard) clear() {
	clear(sh.users)
	clear(sh.ring)
	sh.ring = sh.ring[:0]
	sh.hand, sh.bytes = 0, 0
}

// insert caches regs (which the shard takes) for user, evicting entries
// until it fits within maxUsers and maxBytes. A user whose forms alone
// exceed maxBytes is not cached. The caller holds the write lock and has
// checked that user has no entry.
func (sh *shard) insert(user string, regs []registry.Registration, maxUsers, maxBytes int) {
	b := formBytes(regs)
	if b > maxBytes {
		return
	}
	for len(sh.ring) > 0 && (len(sh.ring) >= maxUsers || sh.bytes+b > maxBytes) {
		sh.evict()
	}
	e := &entry{user: user, regs: regs, bytes: b, slot: len(sh.ring)}
	sh.ring = append(sh.ring, e)
	sh.users[user] = e
	sh.bytes += b
}

// evict removes one entry chosen by CLOCK: the sweep clears reference bits
// until it meets an entry not used since the hand last passed it. The
// caller holds the write lock and the ring is not empty.
func (sh *shard) evict() {
	for {
		if sh.hand >= len(sh.ring) {
			sh.hand = 0
		}
		e := sh.ring[sh.hand]
		if e.ref.Load() {
			e.ref.Store(false)
			sh.hand++
			continue
		}
		sh.remove(e)
		sh.evictions.Add(1)
		return
	}
}

// remove takes e out of the map and the ring (the last ring entry moves
// into its slot). The caller holds the write lock.
func (sh *shard) remove(e *entry) {
	delete(sh.users, e.user)
	last := len(sh.ring) - 1
	moved := sh.ring[last]
	sh.ring[e.slot] = moved
	moved.slot = e.slot
	sh.ring[last] = nil
	sh.ring = sh.ring[:last]
	sh.bytes -= e.bytes
}

// setErrors sets the error count of the cached registration (id,
// generation) of user to n. When the entry does not hold that registration
// the entry is stale, and it is dropped. The caller holds the write lock.
func (sh *shard) setErrors(user string, id registry.Identifier, generation uint64, n int) {
	if f := sh.flights[user]; f != nil {
		f.gen++ // a load in progress may carry the old count
	}
	e := sh.users[user]
	if e == nil {
		return
	}
	for i := range e.regs {
		if e.regs[i].ID == id && e.regs[i].Generation == generation {
			e.regs[i].Errors = n
			return
		}
	}
	sh.drop(user)
}

// formBytes is the size charged against MaxFormBytes for regs: the bytes of
// every string of their forms, plus one per string for its length.
func formBytes(regs []registry.Registration) int {
	n := 0
	for i := range regs {
		n += formSize(regs[i].Options)
	}
	return n
}

// formSize returns the bytes a form is charged against
// Options.MaxFormBytes (see there). The zero Form costs 0.
func formSize(f registry.Form) int {
	if f.IsZero() {
		return 0
	}
	n := len(f.Type()) + 1
	for it := f.Iter(); it.Next(); {
		n += len(it.Var()) + len(it.Type()) + 2
		for v, ok := it.Value(); ok; v, ok = it.Value() {
			n += len(v) + 1
		}
	}
	return n
}
