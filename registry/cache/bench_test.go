package cache_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
)

// publishOptions is a typical publish-options form (Conversations).
func publishOptions(secret string) registry.Form {
	return registry.NewForm("submit",
		registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{"http://jabber.org/protocol/pubsub#publish-options"}},
		registry.Field{Var: "secret", Values: []string{secret}},
		registry.Field{Var: "endpoint", Values: []string{"https://push.example.net/v1/" + secret}},
	)
}

// fill saves users users with 3 registrations each into a Memory store.
func fill(b *testing.B, users int) (*registry.Memory, []string) {
	b.Helper()
	m := registry.NewMemory()
	names := make([]string, users)
	for u := range users {
		names[u] = fmt.Sprintf("user%d@example.org", u)
		for d := range 3 {
			r := registry.Registration{User: names[u], ID: registry.NewIdentifier("push.example.net", fmt.Sprintf("dev%d-%d", u, d)),
				Options: publishOptions(fmt.Sprintf("%016x", u*3+d)), Generation: uint64(d + 1)}
			if _, _, err := m.Save(context.Background(), r, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	return m, names
}

// BenchmarkCacheLoad is the hit path: a user with 3 registrations, each
// with a publish-options form, through LoadAppend into a reused slice (as
// the engine reads) and through Load.
func BenchmarkCacheLoad(b *testing.B) {
	m, names := fill(b, 1000)
	s := newCache(b, m, cache.Options{})
	ctx := context.Background()
	for _, n := range names {
		if _, err := s.Load(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("LoadAppend", func(b *testing.B) {
		b.ReportAllocs()
		var dst []registry.Registration
		i := 0
		for b.Loop() {
			var err error
			dst, err = s.LoadAppend(ctx, names[i%len(names)], dst[:0])
			if err != nil || len(dst) != 3 {
				b.Fatal(len(dst), err)
			}
			i++
		}
	})
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			regs, err := s.Load(ctx, names[i%len(names)])
			if err != nil || len(regs) != 3 {
				b.Fatal(len(regs), err)
			}
			i++
		}
	})
	b.Run("LoadAppendParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var dst []registry.Registration
			i := rand.IntN(len(names))
			for pb.Next() {
				dst, _ = s.LoadAppend(ctx, names[i%len(names)], dst[:0])
				i++
			}
		})
	})
	b.Run("MemoryLoadAppend", func(b *testing.B) { // the in-memory store alone, for comparison
		b.ReportAllocs()
		var dst []registry.Registration
		i := 0
		for b.Loop() {
			dst, _ = m.LoadAppend(ctx, names[i%len(names)], dst[:0])
			i++
		}
	})
}

// BenchmarkCacheHitRate loads users drawn from a Zipf distribution over
// 100k users through a cache holding 10k of them, and reports the share of
// Loads served from memory.
func BenchmarkCacheHitRate(b *testing.B) {
	m, names := fill(b, 100_000)
	for _, size := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprint("cache", size), func(b *testing.B) {
			s := newCache(b, m, cache.Options{MaxUsers: size})
			ctx := context.Background()
			z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(len(names)-1))
			var dst []registry.Registration
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = s.LoadAppend(ctx, names[z.Uint64()], dst[:0])
			}
			st := s.Stats()
			b.ReportMetric(100*float64(st.Hits)/float64(st.Hits+st.Misses), "hit%")
		})
	}
}

// freshForms is a Store whose Loads return forms of their own, as a
// database's decoded rows do, rather than the stored ones.
type freshForms struct{ registry.Store }

func (f freshForms) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	regs, err := f.Store.Load(ctx, user)
	for i := range regs {
		regs[i].Options = registry.NewForm(regs[i].Options.Type(), regs[i].Options.Fields()...)
	}
	return regs, err
}

// BenchmarkCacheHeap reports the heap taken per cached user, for 100k
// users with 3 registrations each (forms as in publishOptions), not
// counting the underlying store: "shared" over a Memory store, whose
// Loads share the stored forms with the cache, and "fresh" over a store
// whose Loads decode new forms, as sqlstore does.
func BenchmarkCacheHeap(b *testing.B) {
	m, names := fill(b, 100_000)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		under registry.Store
	}{{"shared", m}, {"fresh", freshForms{m}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := newCache(b, c.under, cache.Options{MaxUsers: 200_000})
				for _, n := range names {
					if _, err := s.Load(ctx, n); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				st := s.Stats()
				if st.Users != len(names) {
					b.Fatalf("cached %d users, want %d", st.Users, len(names))
				}
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(st.Users), "B/user")
				b.ReportMetric(float64(st.FormBytes)/float64(st.Users), "formB/user")
				runtime.KeepAlive(s)
			}
		})
	}
}
