package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

// BenchmarkOfflineMessage is push's BenchmarkOfflineMessage/users=1k (an
// offline message to a user with 3 registrations, through HandleInto with a
// reused Decisions) over three stores in one run: the in-memory store, the
// registry cache over PostgreSQL, and PostgreSQL alone. It needs
// PUSHRULES_TEST_POSTGRES_DSN and works in a schema of its own. The cache
// reports its hit rate.
func BenchmarkOfflineMessage(b *testing.B) {
	dsn := os.Getenv("PUSHRULES_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("set PUSHRULES_TEST_POSTGRES_DSN (bash .ci/postgres.sh starts a server and sets it)")
	}
	ctx := context.Background()
	c, stop, err := startSchema(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := stop(); err != nil {
			b.Error(err)
		}
	}()
	db, err := sql.Open("pgx", c)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	pg, err := sqlstore.New(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	const users = 1000
	names := make([]string, users)
	for u := range names {
		names[u] = fmt.Sprintf("u%d@example.org", u)
	}
	mem := registry.NewMemory()
	for u := range users {
		for r := range 3 {
			reg := registry.Registration{User: fmt.Sprintf("u%d@example.org", u),
				ID:      registry.NewIdentifier("push.example.net", fmt.Sprintf("node-%d-%d", u, r)),
				Enabled: time.Unix(int64(r), 0), Generation: uint64(r + 1)}
			for _, st := range []registry.Store{mem, pg} {
				if _, _, err := st.Save(ctx, reg, 5); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	cached, err := cache.New(pg, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct {
		name  string
		store registry.Store
	}{{"store=memory", mem}, {"store=cache+postgres", cached}, {"store=postgres", pg}} {
		b.Run(s.name, func(b *testing.B) {
			e, err := push.New(push.Config{Store: s.store, PublishTimeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			st := events.Stanza{Kind: events.KindMessage, Type: "chat", Body: "hi", HasBody: true}
			var d push.Decisions
			i := 0
			step := func() {
				now = now.Add(10 * time.Microsecond)
				st.Key++
				d.Reset()
				ev := events.OfflineMessage{Now: now, User: names[i%users], Stanza: st}
				i++
				if err := e.HandleInto(ctx, ev, &d); err != nil || len(d.Publishes) != 3 {
					b.Fatalf("%d publishes, error %v", len(d.Publishes), err)
				}
			}
			for range users { // every user once: the cache is warm, as in a running server
				step()
			}
			before := cached.Stats()
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			if s.store == registry.Store(cached) {
				after := cached.Stats()
				hits, misses := after.Hits-before.Hits, after.Misses-before.Misses
				b.ReportMetric(100*float64(hits)/float64(max(1, hits+misses)), "hit%")
			}
		})
	}
}
