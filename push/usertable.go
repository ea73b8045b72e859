package push

// userTable holds a shard's users, found by the hash that picked the
// shard: an open-addressing table (linear probing, at most half full) of
// entries that keep their name and hash. A lookup so hashes the name once
// (a Go map would hash it again) and compares one name. The hash is
// maphash with the engine's random seed, so nobody can choose names that
// collide. Its zero value is an empty table.
type userTable struct {
	slots []*userEntry // nil: free; len is 0 or a power of two
	n     int
}

// slot returns where the probe for hash h starts: the shard took h's low
// bits, so the slot takes the ones above them.
func (t *userTable) slot(h uint64) uint64 { return h >> 8 & uint64(len(t.slots)-1) }

// get returns the entry of the user named name, whose hash is h, or nil.
func (t *userTable) get(h uint64, name string) *userEntry {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.slot(h); ; i = (i + 1) & mask {
		u := t.slots[i]
		if u == nil || u.hash == h && u.name == name {
			return u
		}
	}
}

// add adds u, whose name is not in t yet.
func (t *userTable) add(u *userEntry) {
	if 2*(t.n+1) > len(t.slots) {
		t.resize(max(8, 2*len(t.slots)))
	}
	t.put(u)
	t.n++
}

func (t *userTable) put(u *userEntry) {
	mask := uint64(len(t.slots) - 1)
	i := t.slot(u.hash)
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = u
}

func (t *userTable) resize(size int) {
	old := t.slots
	t.slots = make([]*userEntry, size)
	for _, u := range old {
		if u != nil {
			t.put(u)
		}
	}
}

// remove removes u, which is in t.
func (t *userTable) remove(u *userEntry) {
	mask := uint64(len(t.slots) - 1)
	i := t.slot(u.hash)
	for t.slots[i] != u {
		i = (i + 1) & mask
	}
	t.removeAt(i)
}

// removeAt empties slot i and moves back the entries after it that may
// move (those whose probe does not start between i and their slot), so
// that every probe still reaches its entry. It shrinks the table when it
// is less than an eighth full.
func (t *userTable) removeAt(i uint64) {
	mask := uint64(len(t.slots) - 1)
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		if u := t.slots[j]; (j-t.slot(u.hash))&mask >= (j-i)&mask {
			t.slots[i] = u
			i = j
		}
	}
	t.slots[i] = nil
	t.n--
	if len(t.slots) > 8 && 8*t.n < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
}

// removeIf removes the entries for which drop is true, and calls drop
// once for each entry (at least once: an entry moved by a removal may be
// asked again).
func (t *userTable) removeIf(drop func(*userEntry) bool) {
	for i := 0; i < len(t.slots); {
		if u := t.slots[i]; u != nil && drop(u) {
			size := len(t.slots)
			t.removeAt(uint64(i))
			if len(t.slots) != size { // shrunk: the entries moved
				i = 0
			}
			continue // slot i may now hold an entry not yet asked
		}
		i++
	}
}

// each calls f for every entry, in no particular order; f must not add
// or remove entries.
func (t *userTable) each(f func(*userEntry)) {
	for _, u := range t.slots {
		if u != nil {
			f(u)
		}
	}
}
