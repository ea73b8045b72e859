package registrytest

// Cases of concurrent calls and of calls with a context already done.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// testConcurrent runs goroutines doing random operations on a few
// overlapping users, then checks that every registration created was
// removed exactly once (evicted, deleted) or is still stored, and that no
// user ever had more than maxDevices.
func testConcurrent(t *testing.T, s registry.Store) {
	const (
		workers    = 8
		ops        = 200
		maxDevices = 3
	)
	users := []string{alice, bob, "carol@example.org"}
	nodes := []string{"a", "b", "c", "d", "e"}

	type life struct {
		user string
		id   registry.Identifier
		gen  uint64
	}
	var (
		mu      sync.Mutex
		created = map[life]int{}
		removed = map[life]int{}
	)
	record := func(m map[life]int, regs ...registry.Registration) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range regs {
			m[life{r.User, r.ID, r.Generation}]++
		}
	}
	checkLoaded := func(user string, regs []registry.Registration) {
		if len(regs) > maxDevices {
			t.Errorf("Load(%s) = %d registrations, more than %d: %s", user, len(regs), maxDevices, regsString(regs))
		}
		seen := map[registry.Identifier]bool{}
		for _, r := range regs {
			if seen[r.ID] || r.User != user || r.Generation == 0 || r.Errors < 0 {
				t.Errorf("Load(%s) = %s: duplicate or malformed %s", user, regsString(regs), r.ID)
			}
			seen[r.ID] = true
		}
	}

	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0x5eed))
			for i := range ops {
				user := users[rng.IntN(len(users))]
				ident := id(nodes[rng.IntN(len(nodes))])
				switch op := rng.IntN(100); {
				case op < 40:
					gen := uint64(w)<<32 | uint64(i+1) // unique per call
					reg := newReg(user, ident, gen, at(i), publishOptions(fmt.Sprint(w, i)))
					saved, evicted, err := s.Save(ctx, reg, maxDevices)
					if err != nil {
						t.Errorf("Save: %v", err)
						continue
					}
					if saved.Generation == gen {
						record(created, saved)
					}
					if len(evicted) > 0 && len(evicted) != 1 {
						t.Errorf("Save at limit %d evicted %d: %s", maxDevices, len(evicted), regsString(evicted))
					}
					for _, e := range evicted {
						if e.User != user || e.ID == ident {
							t.Errorf("Save of %s %s evicted %s", user, ident, regString(e))
						}
					}
					record(removed, evicted...)
				case op < 55:
					regs, err := s.Load(ctx, user)
					if err != nil {
						t.Errorf("Load: %v", err)
						continue
					}
					checkLoaded(user, regs)
				case op < 75:
					regs, err := s.Load(ctx, user)
					if err != nil {
						t.Errorf("Load: %v", err)
						continue
					}
					if len(regs) == 0 {
						continue
					}
					r := regs[rng.IntN(len(regs))]
					if op < 68 {
						n, err := s.AddError(ctx, user, r.ID, r.Generation)
						if err == nil && n < 1 {
							t.Errorf("AddError = %d, want at least 1", n)
						}
						if err != nil && !errors.Is(err, registry.ErrNotFound) {
							t.Errorf("AddError: %v", err)
						}
					} else {
						err := s.ResetErrors(ctx, user, r.ID, r.Generation)
						if err != nil && !errors.Is(err, registry.ErrNotFound) {
							t.Errorf("ResetErrors: %v", err)
						}
					}
				case op < 97:
					ids := []registry.Identifier{ident, id(nodes[rng.IntN(len(nodes))])}
					got, err := s.Delete(ctx, user, ids...)
					if err != nil {
						t.Errorf("Delete: %v", err)
						continue
					}
					for _, r := range got {
						if r.User != user || !slices.Contains(ids, r.ID) {
							t.Errorf("Delete(%s, %q) removed %s", user, ids, regString(r))
						}
					}
					record(removed, got...)
				default:
					got, err := s.DeleteUser(ctx, user)
					if err != nil {
						t.Errorf("DeleteUser: %v", err)
						continue
					}
					for _, r := range got {
						if r.User != user {
							t.Errorf("DeleteUser(%s) removed %s", user, regString(r))
						}
					}
					record(removed, got...)
				}
			}
		})
	}
	wg.Wait()

	stored := map[life]bool{}
	for _, user := range users {
		regs := mustLoad(t, s, user)
		checkLoaded(user, regs)
		for _, r := range regs {
			stored[life{r.User, r.ID, r.Generation}] = true
		}
	}
	if len(created) == 0 {
		t.Fatal("no registration was created")
	}
	for l, n := range removed {
		if n != 1 || created[l] != 1 {
			t.Errorf("%s %s gen %d: removed %d times, created %d times; want once each", l.user, l.id, l.gen, n, created[l])
		}
		if stored[l] {
			t.Errorf("%s %s gen %d: still stored after it was removed", l.user, l.id, l.gen)
		}
	}
	for l := range stored {
		if created[l] != 1 {
			t.Errorf("%s %s gen %d: stored but created %d times", l.user, l.id, l.gen, created[l])
		}
	}
	for l := range created {
		if !stored[l] && removed[l] == 0 {
			t.Errorf("%s %s gen %d: created, then lost (neither stored nor removed)", l.user, l.id, l.gen)
		}
	}
}

func testCancelledContext(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), publishOptions("a"))
	b := newReg(alice, id("b"), 2, at(1), registry.Form{})
	mustSave(t, s, a, 5)
	mustSave(t, s, b, 5)
	a.Errors = mustAddError(t, s, alice, a.ID, a.Generation)
	before := mustLoad(t, s, alice)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()

	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline exceeded", expired, context.DeadlineExceeded},
	} {
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, c.want) {
				t.Errorf("%s with a %s context: err = %v, want %v", op, c.name, err, c.want)
			}
		}
		ctx := c.ctx
		_, err := s.Load(ctx, alice)
		check("Load", err)
		_, _, err = s.Save(ctx, newReg(alice, id("new"), 3, at(2), registry.Form{}), 1)
		check("Save (new)", err)
		_, _, err = s.Save(ctx, newReg(alice, a.ID, 4, at(3), publishOptions("changed")), 5)
		check("Save (replace)", err)
		_, err = s.Delete(ctx, alice, a.ID, b.ID)
		check("Delete", err)
		_, err = s.DeleteUser(ctx, alice)
		check("DeleteUser", err)
		_, err = s.AddError(ctx, alice, a.ID, a.Generation)
		check("AddError", err)
		err = s.ResetErrors(ctx, alice, a.ID, a.Generation)
		check("ResetErrors", err)

		checkRegs(t, "Load after calls with a "+c.name+" context", mustLoad(t, s, alice), before)
	}
	checkRegs(t, "Load after calls with done contexts", mustLoad(t, s, alice), []registry.Registration{a, b})
}
