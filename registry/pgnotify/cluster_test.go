package pgnotify_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
	"github.com/pushrules/pushrules/registry/pgnotify"
	"github.com/pushrules/pushrules/registry/registrytest"
)

// TestConformance runs the registry conformance suite over a cache on
// SQLite (a single node: no notifier) and on PostgreSQL (with a notifier
// and a listener).
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		registrytest.Run(t, func(t *testing.T) registry.Store {
			s, err := cache.New(sqliteStore(t), cache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		postgresDSN(t)
		registrytest.Run(t, func(t *testing.T) registry.Store {
			return newNode(t, newSchema(t), "n1", randomName("c"), pgnotify.Options{}).cache
		})
	})
}

// drain forgets the notices n was told of so far, before a write whose
// notice a test awaits.
func drain(n *node) {
	for {
		select {
		case <-n.remote:
		default:
			return
		}
	}
}

// awaitRemote waits for the notice of user on n, failing the test after a
// generous deadline, and returns how long it took.
func awaitRemote(t *testing.T, n *node, user string, since time.Time) time.Duration {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case u := <-n.remote:
			if u == user {
				return time.Since(since)
			}
		case <-timeout:
			t.Fatalf("no notice of %s within 20 s", user)
		}
	}
}

func has(regs []registry.Registration, gen uint64) bool {
	return slices.ContainsFunc(regs, func(r registry.Registration) bool { return r.Generation == gen })
}

func load(t *testing.T, s registry.Store, user string) []registry.Registration {
	t.Helper()
	regs, err := s.Load(context.Background(), user)
	if err != nil {
		t.Fatalf("Load(%s): %v", user, err)
	}
	return regs
}

// TestTwoNodes: node A enables and disables a registration 1,000 times;
// after each notice arrives, node B's next Load shows the change, while
// other goroutines on B load the same user all the time (so that a load
// racing the notice would put stale data back if it could). It reports
// the notice latency: from A's write returning to B's cache dropping the
// entry.
func TestTwoNodes(t *testing.T) {
	dsn := newSchema(t)
	channel := randomName("c")
	a := newNode(t, dsn, "A", channel, pgnotify.Options{})
	b := newNode(t, dsn, "B", channel, pgnotify.Options{})
	const user, rounds = "juliet@example.org", 1000
	ctx := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := b.cache.Load(ctx, user); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(20 * time.Microsecond) // busy, without starving the listener of the CPU
			}
		})
	}
	var latencies []time.Duration
	stale := 0
	for i := 1; i <= rounds; i++ {
		r := reg(user, fmt.Sprint("phone", i%7), uint64(i))
		drain(b)
		start := time.Now()
		if _, _, err := a.cache.Save(ctx, r, 3); err != nil {
			t.Fatal(err)
		}
		awaitRemote(t, b, user, start)
		if !has(load(t, b.cache, user), r.Generation) {
			stale++
			t.Errorf("round %d: B does not see the enable after its notice", i)
		}
		drain(b)
		start = time.Now()
		if _, err := a.cache.Delete(ctx, user, r.ID); err != nil {
			t.Fatal(err)
		}
		latencies = append(latencies, awaitRemote(t, b, user, start))
		for range 2 { // the first Load may be a miss, the second shows what B cached
			if has(load(t, b.cache, user), r.Generation) {
				stale++
				t.Errorf("round %d: B still sees the disabled registration after its notice", i)
			}
		}
	}
	close(stop)
	wg.Wait()
	slices.Sort(latencies)
	over := len(latencies) - sort100ms(latencies)
	st := b.cache.Stats()
	t.Logf("%d rounds, %d stale reads; Delete-to-invalidation latency p50 %v, p90 %v, p99 %v, max %v; %d over 100 ms; B: %d hits, %d misses",
		rounds, stale, latencies[len(latencies)/2], latencies[len(latencies)*9/10], latencies[len(latencies)*99/100],
		latencies[len(latencies)-1], over, st.Hits, st.Misses)
}

// sort100ms returns how many of the sorted latencies are at most 100 ms.
func sort100ms(l []time.Duration) int {
	n, _ := slices.BinarySearch(l, 100*time.Millisecond+1)
	return n
}

// TestListenerKilled terminates B's listening connection with
// pg_terminate_backend, three times; A disables a registration at once
// (its notice may reach nobody). B must not serve the disabled
// registration once its listener has noticed, must reconnect, and must
// cache again and hear later notices.
func TestListenerKilled(t *testing.T) {
	dsn := newSchema(t)
	channel := randomName("c")
	a := newNode(t, dsn, "A", channel, pgnotify.Options{})
	b := newNode(t, dsn, "B", channel, pgnotify.Options{MinBackoff: 50 * time.Millisecond})
	const user = "romeo@example.org"
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		r := reg(user, "phone", uint64(i))
		drain(b)
		if _, _, err := a.cache.Save(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
		awaitRemote(t, b, user, time.Now())
		for range 2 { // a miss, then a hit: B has it cached
			if !has(load(t, b.cache, user), r.Generation) {
				t.Fatalf("kill %d: B does not see the registration", i)
			}
		}

		pid := pgnotify.ListenerPID(b.listener)
		var killed bool
		if err := adminDB(t).QueryRow(`SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&killed); err != nil || !killed {
			t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
		}
		if _, err := a.cache.Delete(ctx, user, r.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "B's listener to notice", func() bool { return b.listener.Reconnects() >= uint64(i) })
		if has(load(t, b.cache, user), r.Generation) {
			t.Errorf("kill %d: B serves the disabled registration after its listener lost the connection", i)
		}
		waitFor(t, "B's listener to listen again", b.listener.Listening)
		for range 2 { // the second Load shows what B cached
			if has(load(t, b.cache, user), r.Generation) {
				t.Errorf("kill %d: B serves the disabled registration after its listener came back", i)
			}
		}
		hits := b.cache.Stats().Hits
		load(t, b.cache, user)
		if b.cache.Stats().Hits == hits {
			t.Errorf("kill %d: B does not cache again after listening again", i)
		}
	}
	t.Logf("B's listener reconnected %d times; last error: %v", b.listener.Reconnects(), b.listener.Err())
}

// TestListenerHealthCheck: a listener that hears nothing for many health
// intervals checks its connection and keeps it (no reconnection), and
// still hears the next notice.
func TestListenerHealthCheck(t *testing.T) {
	dsn := newSchema(t)
	channel := randomName("c")
	a := newNode(t, dsn, "A", channel, pgnotify.Options{})
	b := newNode(t, dsn, "B", channel, pgnotify.Options{HealthInterval: 5 * time.Millisecond})
	time.Sleep(200 * time.Millisecond) // about 40 health checks
	if n := b.listener.Reconnects(); n != 0 || !b.listener.Listening() {
		t.Fatalf("after idling: %d reconnections, listening %v, error %v", n, b.listener.Listening(), b.listener.Err())
	}
	drain(b)
	start := time.Now()
	if _, _, err := a.cache.Save(context.Background(), reg("x@example.org", "n", 1), 0); err != nil {
		t.Fatal(err)
	}
	awaitRemote(t, b, "x@example.org", start)
}
