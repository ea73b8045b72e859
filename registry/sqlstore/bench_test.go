package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

// BenchmarkSave enables registrations for 100 users in turn, each user
// cycling through 5 devices with a limit of 3: once the first rounds are
// done, every Save adds a registration and evicts the oldest one.
func BenchmarkSave(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			skipUnavailable(b, be)
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
				r := regs[(i%100)*5+(i/100)%5] // user i%100, its device (i/100)%5
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
			skipUnavailable(b, be)
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
