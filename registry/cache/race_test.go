package cache_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
)

// slowLoads wraps a Store whose Load pauses between reading and returning,
// so that invalidations land while loads are in progress.
type slowLoads struct {
	registry.Store
}

func (s slowLoads) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	regs, err := s.Store.Load(ctx, user)
	for range rand.IntN(4) {
		runtime.Gosched()
	}
	return regs, err
}

// TestLoadsRacingInvalidations: goroutines load a few users without pause
// while a writer changes the underlying store (as another node would) and
// then invalidates; right after each invalidation, Load must return what
// the writer stored. A load that read old data before the invalidation and
// filled the cache after it would fail this.
func TestLoadsRacingInvalidations(t *testing.T) {
	cases := []struct {
		name string
		// change stores reg and makes the cache drop what it had.
		change func(t *testing.T, under registry.Store, s *cache.Store, r registry.Registration)
	}{
		{"Invalidate", func(t *testing.T, under registry.Store, s *cache.Store, r registry.Registration) {
			save(t, under, r)
			s.Invalidate(r.User)
		}},
		{"InvalidateAll", func(t *testing.T, under registry.Store, s *cache.Store, r registry.Registration) {
			save(t, under, r)
			s.InvalidateAll()
		}},
		{"SuspendResume", func(t *testing.T, under registry.Store, s *cache.Store, r registry.Registration) {
			s.Suspend()
			save(t, under, r)
			s.Resume()
		}},
		{"write through the cache", func(t *testing.T, under registry.Store, s *cache.Store, r registry.Registration) {
			save(t, s, r)
		}},
	}
	users := []string{"a@example.org", "b@example.org", "c@example.org"}
	const changes = 500
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			under := registry.NewMemory()
			s := newCache(t, slowLoads{under}, cache.Options{})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 3 {
				wg.Go(func() {
					for i := w; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := s.Load(context.Background(), users[i%len(users)]); err != nil {
							t.Error(err)
							return
						}
						runtime.Gosched() // let the writer run on a busy machine
					}
				})
			}
			stale := 0
			for i := 1; i <= changes; i++ {
				r := reg(users[i%len(users)], fmt.Sprint(i), uint64(i))
				c.change(t, under, s, r)
				// The first Load may return its own read; the second one
				// shows what the cache kept.
				for range 2 {
					got := mustLoad(t, s, r.User)
					if len(got) != 1 || got[0].Generation != r.Generation {
						stale++
						t.Errorf("change %d: Load(%s) = %v, want node %d", i, r.User, nodesOf(got), i)
					}
				}
			}
			close(stop)
			wg.Wait()
			for _, u := range users {
				want := mustLoad(t, under, u)
				if got := mustLoad(t, s, u); !slices.Equal(nodesOf(got), nodesOf(want)) {
					t.Errorf("at the end: Load(%s) = %v, want %v", u, nodesOf(got), nodesOf(want))
				}
			}
			st := s.Stats()
			t.Logf("%d changes, %d stale; %d hits, %d misses", changes, stale, st.Hits, st.Misses)
			if st.Hits == 0 {
				t.Error("no load was served from the cache: the test exercised nothing")
			}
		})
	}
}

// save replaces the user's only registration.
func save(t *testing.T, s registry.Store, r registry.Registration) {
	t.Helper()
	if _, _, err := s.Save(context.Background(), r, 1); err != nil {
		t.Fatal(err)
	}
}
