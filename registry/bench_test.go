package registry_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
)

const (
	benchRegistrations = 1_000_000
	benchService       = "push.example.net"
	nsPublishOptions   = "http://jabber.org/protocol/pubsub#publish-options"
	benchAlphabet      = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// benchRandom returns a new string of n random characters, allocated on its
// own as a parser would allocate it.
func benchRandom(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = benchAlphabet[rng.IntN(len(benchAlphabet))]
	}
	return string(b)
}

// benchForm builds a publish-options form the way push's request parser
// does, with NewForm from the parsed fields.
func benchForm(secret string) registry.Form {
	return registry.NewForm("submit",
		registry.Field{Var: "FORM_TYPE", Values: []string{nsPublishOptions}},
		registry.Field{Var: "secret", Values: []string{secret}})
}

// benchPerUser is the number of registrations of the i-th user: a mix of
// one to three devices, 50% of the users with one, 30% with two, 20% with
// three (1.7 a user on average; 1,000,000 registrations are 588,236 users).
func benchPerUser(i int) int {
	switch i % 10 {
	case 0, 1:
		return 3
	case 2, 3, 4:
		return 2
	}
	return 1
}

// BenchmarkRegistryMemory reports B/registration: the heap the in-memory
// store holds per registration (HeapAlloc after a GC, before and after
// storing), for 1,000,000 registrations of users with one to three devices
// each (see benchPerUser). Each registration has a 40-byte random node and a
// publish-options form with FORM_TYPE and a 20-character random secret,
// each string allocated on its own as a server has them after parsing
// <enable/>; the user's bare JID is allocated once per user, and the
// registrations are stored with Memory.Save, as the engine does. The
// figure includes the store's own structures (maps, slices and their
// spare capacity).
//
// The measurement is done once per run, whatever b.N (so -benchtime=1x
// works); the timed loop then only measures Memory.Load from the full
// store (ns/op, B/op and allocs/op are Load's).
func BenchmarkRegistryMemory(b *testing.B) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	enabled := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	m := registry.NewMemory()
	regs, users := 0, 0
	for regs < benchRegistrations {
		user := "user" + strconv.Itoa(users) + "@example.org"
		for range min(benchPerUser(users), benchRegistrations-regs) {
			node := benchRandom(rng, 40)
			reg := registry.Registration{
				User:       user,
				ID:         registry.NewIdentifier(benchService, node),
				Options:    benchForm(benchRandom(rng, 20)),
				Enabled:    enabled,
				Generation: rng.Uint64() | 1,
			}
			if _, _, err := m.Save(ctx, reg, 5); err != nil {
				b.Fatal(err)
			}
			regs++
		}
		users++
	}

	runtime.GC()
	runtime.ReadMemStats(&after)
	perReg := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(regs)

	names := make([]string, 1024)
	for i := range names {
		names[i] = "user" + strconv.Itoa(rng.IntN(users)) + "@example.org"
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.Load(ctx, names[i%len(names)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(perReg, "B/registration")
	b.ReportMetric(float64(regs)/float64(users), "registrations/user")
	runtime.KeepAlive(m)
}
