package cache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
	"github.com/pushrules/pushrules/registry/registrytest"
	"github.com/stretchr/testify/require"
)

// counting wraps a Store and counts the Loads that reach it. It hides the
// wrapped store's LoadAppend, so the cache's fallback to Load is used.
type counting struct {
	capable // every capability of the Memory but LoadAppend
	loads   atomic.Int64
}

type capable interface {
	registry.Tracker
	registry.Expirer
	registry.Auditor
}

func (c *counting) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	c.loads.Add(1)
	return c.capable.Load(ctx, user)
}

func newCache(t testing.TB, st registry.Store, opts cache.Options) *cache.Store {
	t.Helper()
	c, err := cache.New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	cases := []struct {
		name  string
		under func() registry.Store
		opts  cache.Options
	}{
		{"memory", func() registry.Store { return registry.NewMemory() }, cache.Options{}},
		{"memory without LoadAppend", func() registry.Store { return &counting{capable: registry.NewMemory()} }, cache.Options{}},
		{"one user, few form bytes", func() registry.Store { return registry.NewMemory() }, cache.Options{MaxUsers: 1, MaxFormBytes: 100}},
		{"suspended", func() registry.Store { return registry.NewMemory() }, cache.Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			registrytest.Run(t, func(t *testing.T) registry.Store {
				s := newCache(t, c.under(), c.opts)
				if c.name == "suspended" {
					s.Suspend()
				}
				return s
			})
		})
	}
}

var (
	alice = "alice@example.org"
	t0    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func reg(user, node string, gen uint64) registry.Registration {
	return registry.Registration{User: user, ID: registry.NewIdentifier("push.example.net", node), Enabled: t0, Generation: gen,
		Options: registry.NewForm("submit", registry.Field{Var: "secret", Values: []string{"s-" + node}})}
}

func mustLoad(t *testing.T, s registry.Store, user string) []registry.Registration {
	t.Helper()
	regs, err := s.Load(t.Context(), user)
	if err != nil {
		t.Fatalf("Load(%s): %v", user, err)
	}
	return regs
}

func nodesOf(regs []registry.Registration) []string {
	var out []string
	for _, r := range regs {
		out = append(out, fmt.Sprintf("%s/%d", r.ID.Node(), r.Errors))
	}
	return out
}

// TestHitsDoNotReachStore: after one miss, Loads are served from memory,
// users without registrations included.
func TestHitsDoNotReachStore(t *testing.T) {
	under := &counting{capable: registry.NewMemory()}
	s := newCache(t, under, cache.Options{})
	if _, _, err := under.Save(t.Context(), reg(alice, "a", 1), 0); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if got := nodesOf(mustLoad(t, s, alice)); !slices.Equal(got, []string{"a/0"}) {
			t.Fatalf("Load = %v", got)
		}
		if got := mustLoad(t, s, "nobody@example.org"); len(got) != 0 {
			t.Fatalf("Load of nobody = %v", got)
		}
	}
	if n := under.loads.Load(); n != 2 {
		t.Errorf("underlying Loads = %d, want 2", n)
	}
	if st := s.Stats(); st.Hits != 8 || st.Misses != 2 || st.Users != 2 {
		t.Errorf("Stats = %+v, want 8 hits, 2 misses, 2 users", st)
	}
}

// TestWritesSeenAtOnce: every write through the cache is seen by the next
// Load on this node, whatever was cached before.
func TestWritesSeenAtOnce(t *testing.T) {
	a, b := reg(alice, "a", 1), reg(alice, "b", 2)
	cases := []struct {
		name  string
		write func(ctx context.Context, s registry.Store) error
		want  []string
	}{
		{"Save new", func(ctx context.Context, s registry.Store) error {
			_, _, err := s.Save(ctx, reg(alice, "c", 3), 0)
			return err
		}, []string{"a/0", "b/0", "c/0"}},
		{"Save evicting", func(ctx context.Context, s registry.Store) error {
			_, _, err := s.Save(ctx, reg(alice, "c", 3), 2)
			return err
		}, []string{"b/0", "c/0"}},
		{"Save replacing", func(ctx context.Context, s registry.Store) error {
			_, _, err := s.Save(ctx, a, 0)
			return err
		}, []string{"b/0", "a/0"}},
		{"Delete", func(ctx context.Context, s registry.Store) error {
			_, err := s.Delete(ctx, alice, a.ID)
			return err
		}, []string{"b/0"}},
		{"DeleteUser", func(ctx context.Context, s registry.Store) error {
			_, err := s.DeleteUser(ctx, alice)
			return err
		}, nil},
		{"AddError", func(ctx context.Context, s registry.Store) error {
			_, err := s.AddError(ctx, alice, b.ID, b.Generation)
			return err
		}, []string{"a/0", "b/1"}},
		{"ResetErrors", func(ctx context.Context, s registry.Store) error {
			if _, err := s.AddError(ctx, alice, a.ID, a.Generation); err != nil {
				return err
			}
			if got := nodesOf(mustLoad(t, s, alice)); !slices.Equal(got, []string{"a/1", "b/0"}) {
				return fmt.Errorf("after AddError: %v", got)
			}
			return s.ResetErrors(ctx, alice, a.ID, a.Generation)
		}, []string{"a/0", "b/0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newCache(t, registry.NewMemory(), cache.Options{})
			for _, r := range []registry.Registration{a, b} {
				if _, _, err := s.Save(t.Context(), r, 0); err != nil {
					t.Fatal(err)
				}
			}
			mustLoad(t, s, alice) // cached
			if err := c.write(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			if got := nodesOf(mustLoad(t, s, alice)); !slices.Equal(got, c.want) {
				t.Errorf("Load after %s = %v, want %v", c.name, got, c.want)
			}
		})
	}
}

// TestFailedWriteChangesNothing: a write the underlying store refuses
// leaves Load returning what it returned before.
func TestFailedWriteChangesNothing(t *testing.T) {
	faulty := registrytest.NewFaulty(registry.NewMemory())
	s := newCache(t, faulty, cache.Options{})
	a := reg(alice, "a", 1)
	if _, _, err := s.Save(t.Context(), a, 0); err != nil {
		t.Fatal(err)
	}
	before := nodesOf(mustLoad(t, s, alice))
	faulty.FailWrites(true)
	ctx := t.Context()
	writes := map[string]func() error{
		"Save":        func() error { _, _, err := s.Save(ctx, reg(alice, "b", 2), 0); return err },
		"Delete":      func() error { _, err := s.Delete(ctx, alice, a.ID); return err },
		"DeleteUser":  func() error { _, err := s.DeleteUser(ctx, alice); return err },
		"AddError":    func() error { _, err := s.AddError(ctx, alice, a.ID, a.Generation); return err },
		"ResetErrors": func() error { return s.ResetErrors(ctx, alice, a.ID, a.Generation) },
	}
	for name, w := range writes {
		if err := w(); !errors.Is(err, registrytest.ErrInjected) {
			t.Errorf("%s: %v, want the injected error", name, err)
		}
		if got := nodesOf(mustLoad(t, s, alice)); !slices.Equal(got, before) {
			t.Errorf("Load after a failed %s = %v, want %v", name, got, before)
		}
	}
}

// TestErrorCountOfStaleEntry: AddError answered ErrNotFound drops an entry
// that still shows the registration (as a late notice would leave it).
func TestErrorCountOfStaleEntry(t *testing.T) {
	under := registry.NewMemory()
	s := newCache(t, under, cache.Options{})
	a := reg(alice, "a", 1)
	if _, _, err := s.Save(t.Context(), a, 0); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s, alice)
	if _, err := under.Delete(t.Context(), alice, a.ID); err != nil { // another node, notice not yet here
		t.Fatal(err)
	}
	if _, err := s.AddError(t.Context(), alice, a.ID, a.Generation); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("AddError = %v, want ErrNotFound", err)
	}
	if got := mustLoad(t, s, alice); len(got) != 0 {
		t.Errorf("Load after ErrNotFound = %v, want nothing", nodesOf(got))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct {
		name  string
		store registry.Store
		opts  cache.Options
		field string
	}{
		{"nil store", nil, cache.Options{}, "nil store"},
		{"negative MaxUsers", registry.NewMemory(), cache.Options{MaxUsers: -1}, "Options.MaxUsers: -1 is negative"},
		{"negative MaxFormBytes", registry.NewMemory(), cache.Options{MaxFormBytes: -5}, "Options.MaxFormBytes: -5 is negative"},
	}
	for _, c := range cases {
		s, err := cache.New(c.store, c.opts)
		if s != nil || !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: New = %v, %v; want ErrInvalidOptions naming %q", c.name, s, err, c.field)
		}
	}
}

// TestFormSize pins what a form costs against MaxFormBytes.
func TestFormSize(t *testing.T) {
	cases := []struct {
		form registry.Form
		want int
	}{
		{registry.Form{}, 0},
		{registry.NewForm(""), 1},
		{registry.NewForm("submit"), 7},
		{registry.NewForm("submit", registry.Field{Var: "secret", Values: []string{"abc"}}), 7 + 6 + 0 + 2 + 4},
		{registry.NewForm("submit", registry.Field{Var: "v", Type: "list-multi", Values: []string{"", "xy"}}), 7 + 1 + 10 + 2 + 1 + 3},
	}
	for _, c := range cases {
		if got := cache.FormSize(c.form); got != c.want {
			t.Errorf("FormSize(%v) = %d, want %d", c.form, got, c.want)
		}
	}
}

func ExampleStore() {
	ctx := context.Background()
	store, err := cache.New(registry.NewMemory(), cache.Options{MaxUsers: 10_000})
	if err != nil {
		panic(err)
	}
	juliet := "juliet@example.org"
	_, _, err = store.Save(ctx, registry.Registration{User: juliet, ID: registry.NewIdentifier("push.example.net", "phone"),
		Generation: 1}, 5)
	if err != nil {
		panic(err)
	}
	for range 3 {
		regs, _ := store.Load(ctx, juliet)
		fmt.Println(len(regs), regs[0].ID)
	}
	st := store.Stats()
	fmt.Println("hits", st.Hits, "misses", st.Misses, "users", st.Users)
	// Output:
	// 1 push.example.net<phone
	// 1 push.example.net<phone
	// 1 push.example.net<phone
	// hits 2 misses 1 users 1
}

// TestHitAllocations: a hit through LoadAppend into a slice with room
// allocates nothing; through Load, only the returned slice.
func TestHitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocations")
	}
	s := newCache(t, registry.NewMemory(), cache.Options{})
	ctx := context.Background()
	for i := range 3 {
		if _, _, err := s.Save(ctx, reg(alice, fmt.Sprint(i), uint64(i+1)), 0); err != nil {
			t.Fatal(err)
		}
	}
	dst := make([]registry.Registration, 0, 3)
	for _, c := range []struct {
		name string
		f    func()
		max  float64
	}{
		{"LoadAppend", func() { dst, _ = s.LoadAppend(ctx, alice, dst[:0]) }, 0},
		{"Load", func() { dst, _ = s.Load(ctx, alice) }, 1},
	} {
		c.f() // the miss
		if allocs := testing.AllocsPerRun(1000, c.f); allocs > c.max || len(dst) != 3 {
			t.Errorf("%s hit: %.1f allocations, %d registrations; want at most %.0f and 3", c.name, allocs, len(dst), c.max)
		}
	}
}

// TestFailedLoadNotCached: a Load the underlying store fails returns its
// error and caches nothing; the next Load reads the store again.
func TestFailedLoadNotCached(t *testing.T) {
	faulty := registrytest.NewFaulty(registry.NewMemory())
	s := newCache(t, faulty, cache.Options{})
	if _, _, err := s.Save(t.Context(), reg(alice, "a", 1), 0); err != nil {
		t.Fatal(err)
	}
	faulty.FailReads(true)
	for _, load := range []func() ([]registry.Registration, error){
		func() ([]registry.Registration, error) { return s.Load(t.Context(), alice) },
		func() ([]registry.Registration, error) { return s.LoadAppend(t.Context(), alice, nil) },
	} {
		if regs, err := load(); !errors.Is(err, registrytest.ErrInjected) || len(regs) != 0 {
			t.Errorf("Load with a failing store = %v, %v; want the injected error", nodesOf(regs), err)
		}
	}
	faulty.FailReads(false)
	if got := nodesOf(mustLoad(t, s, alice)); !slices.Equal(got, []string{"a/0"}) {
		t.Errorf("Load after the store recovered = %v", got)
	}
	if st := s.Stats(); st.Users != 1 || st.Hits != 0 {
		t.Errorf("Stats %+v: want 1 user cached, no hit", st)
	}
}

// TestCapabilitiesPassThrough checks that the engine's optional Store
// capabilities reach the underlying store through the cache, keep the
// cache coherent, and fail clearly where the underlying store lacks them.
// (testify's require keeps this long sequence of steps readable.)
func TestCapabilitiesPassThrough(t *testing.T) {
	ctx := context.Background()
	mem := registry.NewMemory()
	c, err := cache.New(mem, cache.Options{})
	require.NoError(t, err)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := registry.Registration{User: "u@example.org", ID: registry.NewIdentifier("push.example.net", "A"), Enabled: t0, Generation: 7}
	_, _, err = c.Save(ctx, reg, 5)
	require.NoError(t, err)
	_, err = c.Load(ctx, reg.User) // cached now
	require.NoError(t, err)

	got, err := c.Fail(ctx, reg.User, reg.ID, 7, t0.Add(time.Minute), "item-not-found")
	require.NoError(t, err)
	require.Equal(t, 1, got.Errors)
	require.Equal(t, "item-not-found", got.LastError)
	regs, err := c.Load(ctx, reg.User)
	require.NoError(t, err)
	require.Len(t, regs, 1)
	require.Equal(t, 1, regs[0].Errors, "the cached count follows Fail")

	require.NoError(t, c.Succeed(ctx, reg.User, reg.ID, 7, t0.Add(2*time.Minute)))
	regs, err = c.Load(ctx, reg.User)
	require.NoError(t, err)
	require.Equal(t, 0, regs[0].Errors, "the cached count follows Succeed")

	removed, err := c.Expire(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, removed, 1)
	regs, err = c.Load(ctx, reg.User)
	require.NoError(t, err)
	require.Empty(t, regs, "an expired registration is still served from the cache")

	require.NoError(t, c.Record(ctx, 10, registry.AuditEntry{User: reg.User, At: t0}))
	h, err := c.History(ctx, reg.User)
	require.NoError(t, err)
	require.Len(t, h, 1)

	bare, err := cache.New(struct{ registry.Store }{mem}, cache.Options{})
	require.NoError(t, err)
	_, err = bare.Expire(ctx, t0)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.ErrorIs(t, bare.Record(ctx, 1), errors.ErrUnsupported)
}
