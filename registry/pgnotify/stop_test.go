package pgnotify_test

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
	"github.com/pushrules/pushrules/registry/pgnotify"
)

// TestListenerStops: a Listener stopped by Close or by its context leaves
// no goroutine behind and its cache suspended, whether it was listening or
// still trying to connect.
func TestListenerStops(t *testing.T) {
	servers := []struct {
		name, dsn string
	}{
		{"unreachable", "postgres://postgres@127.0.0.1:1/pushrules?connect_timeout=5"},
		{"listening", os.Getenv("PUSHRULES_TEST_POSTGRES_DSN")},
	}
	for _, srv := range servers {
		for _, byClose := range []bool{true, false} {
			name := srv.name + "/context"
			if byClose {
				name = srv.name + "/Close"
			}
			t.Run(name, func(t *testing.T) {
				if srv.dsn == "" {
					postgresDSN(t) // skips
				}
				if srv.name == "listening" {
					adminDB(t) // its pool's goroutines are not the Listener's
				}
				before := runtime.NumGoroutine()
				c, err := cache.New(registry.NewMemory(), cache.Options{})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				l, err := pgnotify.Listen(ctx, srv.dsn, c, pgnotify.Options{Node: "n", Channel: randomName("c"), MinBackoff: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if srv.name == "listening" {
					waitFor(t, "the listener to listen", l.Listening)
					if c.Stats().Suspended {
						t.Error("the cache is suspended while the listener listens")
					}
				} else {
					waitFor(t, "a failed attempt", func() bool { return l.Err() != nil })
				}
				if byClose {
					l.Close()
					l.Close() // again: nothing
				} else {
					cancel()
				}
				select {
				case <-pgnotify.ListenerDone(l):
				case <-time.After(20 * time.Second):
					t.Fatal("the listener did not stop")
				}
				if l.Listening() || !c.Stats().Suspended {
					t.Errorf("after stopping: Listening %v, cache %+v", l.Listening(), c.Stats())
				}
				waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
			})
		}
	}
}
