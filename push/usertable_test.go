package push

import (
	"fmt"
	"testing"
)

// TestUserTable checks userTable against a map over random operations:
// adds, removals one by one and by removeIf, lookups of present and absent
// names, with hashes drawn from a small set so that entries collide
// (same hash, other name) and clusters wrap around the end of the table.
func TestUserTable(t *testing.T) {
	seed := uint64(1)
	rnd := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(n))
	}
	hashOf := func(name string) uint64 {
		var h uint64
		for _, c := range name {
			h = h*31 + uint64(c)
		}
		return (h % 23) << 8 // 23 hashes, all of one shard
	}
	var tab userTable
	model := map[string]*userEntry{}
	check := func(op int) {
		t.Helper()
		if tab.n != len(model) {
			t.Fatalf("op %d: %d entries, want %d", op, tab.n, len(model))
		}
		if len(tab.slots) > 0 && (2*tab.n > len(tab.slots) || len(tab.slots) > 8 && 8*tab.n < len(tab.slots)/2) {
			t.Fatalf("op %d: %d entries in %d slots", op, tab.n, len(tab.slots))
		}
		seen := 0
		tab.each(func(u *userEntry) {
			seen++
			if model[u.name] != u {
				t.Fatalf("op %d: each gave %s, not in the model", op, u.name)
			}
		})
		if seen != len(model) {
			t.Fatalf("op %d: each gave %d entries, want %d", op, seen, len(model))
		}
		for name, u := range model {
			if got := tab.get(u.hash, name); got != u {
				t.Fatalf("op %d: get(%s) = %p, want %p", op, name, got, u)
			}
		}
	}
	for op := range 20000 {
		name := fmt.Sprintf("user%d@example.org", rnd(200))
		h := hashOf(name)
		switch u := model[name]; {
		case rnd(50) == 0:
			asked := map[*userEntry]bool{}
			tab.removeIf(func(u *userEntry) bool {
				asked[u] = true
				return len(u.name)%3 == 0
			})
			for n, u := range model {
				if !asked[u] {
					t.Fatalf("op %d: removeIf did not ask about %s", op, n)
				}
				if len(n)%3 == 0 {
					delete(model, n)
				}
			}
		case u == nil && rnd(3) > 0:
			if got := tab.get(h, name); got != nil {
				t.Fatalf("op %d: get(%s) found %s before it was added", op, name, got.name)
			}
			u = &userEntry{name: name, hash: h}
			tab.add(u)
			model[name] = u
		case u != nil:
			tab.remove(u)
			delete(model, name)
			if got := tab.get(h, name); got != nil {
				t.Fatalf("op %d: get(%s) found it after its removal", op, name)
			}
		}
		check(op)
	}
}
