package cache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
	"github.com/pushrules/pushrules/registry/registrytest"
)

// recorder is a Notifier and the callbacks' target: it records what the
// cache told it.
type recorder struct {
	mu       sync.Mutex
	notified []string
	remote   []string
	resets   int
	fail     error
}

func (r *recorder) Notify(ctx context.Context, user string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.notified = append(r.notified, user)
	return r.fail
}

func (r *recorder) options() cache.Options {
	return cache.Options{Notifier: r,
		OnRemoteChange: func(user string) { r.mu.Lock(); r.remote = append(r.remote, user); r.mu.Unlock() },
		OnReset:        func() { r.mu.Lock(); r.resets++; r.mu.Unlock() }}
}

func (r *recorder) take() (notified, remote []string, resets int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	notified, remote, resets = r.notified, r.remote, r.resets
	r.notified, r.remote, r.resets = nil, nil, 0
	return
}

// TestNotifies: the writes that change something notify once each, after
// they succeeded, even when the caller's context ends right after; the
// rest do not. Own writes call no callback.
func TestNotifies(t *testing.T) {
	a := reg(alice, "a", 1)
	cases := []struct {
		name   string
		write  func(ctx context.Context, s registry.Store) error
		notify bool
	}{
		{"Save", func(ctx context.Context, s registry.Store) error {
			_, _, err := s.Save(ctx, reg(alice, "b", 2), 0)
			return err
		}, true},
		{"Delete", func(ctx context.Context, s registry.Store) error { _, err := s.Delete(ctx, alice, a.ID); return err }, true},
		{"Delete of nothing", func(ctx context.Context, s registry.Store) error {
			_, err := s.Delete(ctx, alice, registry.NewIdentifier("x", "y"))
			return err
		}, false},
		{"DeleteUser", func(ctx context.Context, s registry.Store) error { _, err := s.DeleteUser(ctx, alice); return err }, true},
		{"DeleteUser of nobody", func(ctx context.Context, s registry.Store) error {
			_, err := s.DeleteUser(ctx, "nobody@example.org")
			return err
		}, false},
		{"AddError", func(ctx context.Context, s registry.Store) error {
			_, err := s.AddError(ctx, alice, a.ID, a.Generation)
			return err
		}, false},
		{"ResetErrors", func(ctx context.Context, s registry.Store) error {
			return s.ResetErrors(ctx, alice, a.ID, a.Generation)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r recorder
			faulty := registrytest.NewFaulty(registry.NewMemory())
			s := newCache(t, faulty, r.options())
			if _, _, err := s.Save(t.Context(), a, 0); err != nil {
				t.Fatal(err)
			}
			r.take()

			faulty.FailWrites(true)
			if err := c.write(t.Context(), s); err == nil {
				t.Fatal("the write did not fail")
			}
			if n, remote, resets := r.take(); len(n)+len(remote)+resets != 0 {
				t.Errorf("failed write: notified %v, remote %v, resets %d; want nothing", n, remote, resets)
			}

			faulty.FailWrites(false)
			ctx, cancel := context.WithCancel(t.Context())
			err := c.write(ctx, s)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			n, remote, resets := r.take()
			var want []string
			if c.notify {
				want = []string{alice}
			}
			if !slices.Equal(n, want) || len(remote) != 0 || resets != 0 {
				t.Errorf("notified %v, remote %v, resets %d; want notified %v only", n, remote, resets, want)
			}
		})
	}
}

// TestNotifyFailure: a failed Notify is counted; the write stands.
func TestNotifyFailure(t *testing.T) {
	r := recorder{fail: errors.New("no database")}
	s := newCache(t, registry.NewMemory(), r.options())
	if _, _, err := s.Save(t.Context(), reg(alice, "a", 1), 0); err != nil {
		t.Fatalf("Save with a failing notifier: %v", err)
	}
	if got := nodesOf(mustLoad(t, s, alice)); !slices.Equal(got, []string{"a/0"}) {
		t.Errorf("Load = %v", got)
	}
	if st := s.Stats(); st.NotifyErrors != 1 {
		t.Errorf("NotifyErrors = %d, want 1", st.NotifyErrors)
	}
}

// TestRemoteChanges: Invalidate, InvalidateAll, Suspend and Resume drop
// what they must and call the callbacks.
func TestRemoteChanges(t *testing.T) {
	var r recorder
	under := &counting{capable: registry.NewMemory()}
	s := newCache(t, under, r.options())
	bob := "bob@example.org"
	for _, u := range []string{alice, bob} {
		if _, _, err := under.Save(t.Context(), reg(u, "a", 1), 0); err != nil {
			t.Fatal(err)
		}
		mustLoad(t, s, u)
	}
	reads := func() int64 {
		before := under.loads.Load()
		mustLoad(t, s, alice)
		mustLoad(t, s, bob)
		return under.loads.Load() - before
	}
	if n := reads(); n != 0 {
		t.Fatalf("cached users read the store %d times", n)
	}

	s.Invalidate(alice)
	s.Invalidate("uncached@example.org")
	if _, remote, resets := r.take(); !slices.Equal(remote, []string{alice, "uncached@example.org"}) || resets != 0 {
		t.Errorf("Invalidate called OnRemoteChange %v, OnReset %d times", remote, resets)
	}
	if n := reads(); n != 1 {
		t.Errorf("after Invalidate(alice): %d reads, want 1 (alice only)", n)
	}

	s.InvalidateAll()
	if _, _, resets := r.take(); resets != 1 {
		t.Errorf("InvalidateAll: OnReset %d times, want 1", resets)
	}
	if n := reads(); n != 2 {
		t.Errorf("after InvalidateAll: %d reads, want 2", n)
	}

	s.Suspend()
	for range 3 {
		if n := reads(); n != 2 {
			t.Errorf("suspended: %d reads, want 2 every time", n)
		}
	}
	if st := s.Stats(); !st.Suspended || st.Users != 0 {
		t.Errorf("suspended: Stats %+v", st)
	}
	s.Resume()
	if _, _, resets := r.take(); resets != 2 {
		t.Errorf("Suspend and Resume: OnReset %d times, want 2", resets)
	}
	if n := reads() + reads(); n != 2 {
		t.Errorf("resumed: %d reads, want 2 then none", n)
	}
}

// TestBounds: the cache never holds more users or form bytes than allowed,
// and keeps the users in use.
func TestBounds(t *testing.T) {
	under := registry.NewMemory()
	form := reg(alice, "x", 1).Options
	size := cache.FormSize(form)
	cases := []struct {
		name     string
		opts     cache.Options
		maxUsers int
	}{
		{"users", cache.Options{MaxUsers: 20}, 20},
		{"form bytes", cache.Options{MaxFormBytes: 10 * size}, 11}, // "hot" has no form
		{"many shards", cache.Options{MaxUsers: 5000}, 5000},
	}
	for i := range 6000 {
		if _, _, err := under.Save(t.Context(), reg(fmt.Sprint("u", i), "x", 1), 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newCache(t, under, c.opts)
			for i := range 6000 {
				mustLoad(t, s, "hot") // a user without registrations, used all the time
				if got := mustLoad(t, s, fmt.Sprint("u", i)); len(got) != 1 {
					t.Fatalf("Load(u%d) = %v", i, got)
				}
				st := s.Stats()
				if st.Users > c.maxUsers || (c.opts.MaxFormBytes > 0 && st.FormBytes > c.opts.MaxFormBytes) {
					t.Fatalf("after %d users: %+v, over the bounds", i+1, st)
				}
			}
			st := s.Stats()
			if st.Evictions == 0 || st.Users == 0 {
				t.Errorf("Stats %+v: want evictions and some users", st)
			}
			before := st.Misses
			mustLoad(t, s, "hot")
			if s.Stats().Misses != before {
				t.Error("the user loaded at every step was evicted")
			}
		})
	}
}

// TestTooBigToCache: a user whose forms exceed the byte bound is served,
// from the store every time.
func TestTooBigToCache(t *testing.T) {
	under := &counting{capable: registry.NewMemory()}
	r := reg(alice, "a", 1)
	s := newCache(t, under, cache.Options{MaxFormBytes: cache.FormSize(r.Options) - 1})
	if _, _, err := s.Save(t.Context(), r, 0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := nodesOf(mustLoad(t, s, alice)); !slices.Equal(got, []string{"a/0"}) {
			t.Fatalf("Load = %v", got)
		}
	}
	if n := under.loads.Load(); n != 3 {
		t.Errorf("underlying Loads = %d, want 3", n)
	}
}
