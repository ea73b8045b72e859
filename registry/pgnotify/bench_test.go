package pgnotify_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/pgnotify"
)

// BenchmarkOfflineRead is the read an offline (or archived, or groupchat)
// message costs the push engine: LoadAppend of the recipient's
// registrations (3, with publish-options forms) into a reused slice when
// the store can (as the engine reads), over 100 users, on PostgreSQL alone
// and through a listening cache.
func BenchmarkOfflineRead(b *testing.B) {
	n := newNode(b, newSchema(b), "bench", randomName("c"), pgnotify.Options{})
	ctx := context.Background()
	users := make([]string, 100)
	for u := range users {
		users[u] = fmt.Sprintf("user%d@example.org", u)
		for d := range 3 {
			if _, _, err := n.cache.Save(ctx, reg(users[u], fmt.Sprint("device", d), uint64(d+1)), 3); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name  string
		store registry.Store
	}{{"database", n.sql}, {"cache", n.cache}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var dst []registry.Registration
			i := 0
			for b.Loop() {
				var err error
				dst, err = loadAppend(ctx, c.store, users[i%len(users)], dst[:0])
				if err != nil || len(dst) != 3 {
					b.Fatalf("LoadAppend = %d registrations, %v", len(dst), err)
				}
				i++
			}
		})
	}
}

// loadAppend reads as the push engine does.
func loadAppend(ctx context.Context, s registry.Store, user string, dst []registry.Registration) ([]registry.Registration, error) {
	if a, ok := s.(registry.Appender); ok {
		return a.LoadAppend(ctx, user, dst)
	}
	return s.Load(ctx, user)
}
