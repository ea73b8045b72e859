package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

// BenchmarkSave enables registrations in turn for 100 users with 5 devices
// each and a limit of 3: most Saves add one and evict the oldest.
func BenchmarkSave(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, _ := newStore(b, be)
			ctx := context.Background()
			var regs []registry.Registration
			for u := range 100 {
				for d := range 5 {
					r := reg(fmt.Sprintf("user%d@example.org", u), fmt.Sprint("device", d), uint64(u*5+d+1))
					regs = append(regs, r)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := regs[(i%5)*100+(i/5)%100] // user i/5 % 100, device i%5... spread over users
				if _, _, err := s.Save(ctx, r, 3); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkLoad loads a user with 3 registrations, each with a
// publish-options form.
func BenchmarkLoad(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, _ := newStore(b, be)
			ctx := context.Background()
			for u := range 100 {
				for d := range 3 {
					r := reg(fmt.Sprintf("user%d@example.org", u), fmt.Sprint("device", d), uint64(d+1))
					if _, _, err := s.Save(ctx, r, 3); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				regs, err := s.Load(ctx, fmt.Sprintf("user%d@example.org", i%100))
				if err != nil || len(regs) != 3 {
					b.Fatalf("Load = %d registrations, %v", len(regs), err)
				}
				i++
			}
		})
	}
}
