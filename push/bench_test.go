package push_test

// Benchmarks of the engine's hot paths (issue 5). Every benchmark uses a
// virtual clock: time is passed in with each event, so the figures do not
// depend on the speed of the machine's clock, and nothing sleeps.
//
//	go test -run='^$' -bench=. -benchmem -cpu 1,2 -timeout 20m ./push/

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

var benchEpoch = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const (
	publishOptionsNS = "http://jabber.org/protocol/pubsub#publish-options"
	benchService     = "push.example.net"
	benchContact     = "romeo@montague.example/orchard"
	benchSecret      = "eruio234vzxc2kla-91x"                     // 20 characters
	benchNode        = "yxs32uqsflafdk3iuqo0c5b8e9f7a6d4c3b2a1f0" // 40 characters
)

// benchEnable is a typical client's <enable/>: a 40-byte node and a
// publish-options form with FORM_TYPE and a 20-character secret.
func benchEnable(node, secret string) []byte {
	return []byte(`<enable xmlns='urn:xmpp:push:0' jid='` + benchService + `' node='` + node + `'>` +
		`<x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
		`<field var='secret'><value>` + secret + `</value></field></x></enable>`)
}

// benchNodeN returns a distinct 40-byte node for n.
func benchNodeN(n int) string {
	s := fmt.Sprintf("%040x", uint64(n)*0x9e3779b97f4a7c15)
	return s[len(s)-40:]
}

func benchNew(b *testing.B, cfg push.Config) *push.Engine {
	b.Helper()
	benchDropStore()
	return benchEngine(b, cfg)
}

func benchEngine(b *testing.B, cfg push.Config) *push.Engine {
	b.Helper()
	e, err := push.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// benchMust returns a checker of a handler's results: it fails the
// benchmark on an error or an error reply.
func benchMust(b *testing.B) func(push.Decisions, error) push.Decisions {
	return func(d push.Decisions, err error) push.Decisions {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range d.Replies {
			if r.Error != nil {
				b.Fatalf("reply to %s: %v", r.Session, r.Error)
			}
		}
		return d
	}
}

// benchChat is an important one-to-one chat message to user.
func benchChat(user string, key events.Key) events.Stanza {
	return events.Stanza{Key: key, Kind: events.KindMessage, Type: "chat", From: benchContact, To: user,
		Body: "Are you up?", HasBody: true}
}

// BenchmarkStanzaQueued measures a stanza queued for a hibernating,
// push-bound session whose batch is already open: the work the host does
// for every message to a sleeping phone.
//
// The loop advances virtual time by 1 ms a stanza, so the batch window
// (1 s) is over every 1000 stanzas: the stanza that arrives after the
// batch fell due processes it (the engine does not wait for a Wake it may
// have missed) and opens the next one. The figure is therefore the
// amortised steady-state cost of a queued stanza, its share of the batch's
// processing (one publish, every stanza of the batch marked as pushed)
// included.
func BenchmarkStanzaQueued(b *testing.B) {
	ctx := context.Background()
	e := benchNew(b, push.Config{})
	must := benchMust(b)
	const (
		user  = "juliet@example.org"
		phone = user + "/phone"
	)
	now := benchEpoch
	must(e.Handle(context.Background(), events.SessionOpened{Now: now, Session: phone}))
	must(e.Handle(ctx, events.IQ{Now: now, Session: phone, ID: "e1", Payload: benchEnable(benchNode, benchSecret)}))
	must(e.HibernationStart(context.Background(), events.HibernationStarted{Now: now, Session: phone}))

	st := benchChat(phone, 1)
	// Open the batch before timing starts.
	d := must(e.StanzaQueued(ctx, events.StanzaQueued{Now: now, Session: phone, Stanza: st}))
	if d.Wake.IsZero() {
		b.Fatal("the first queued stanza opened no batch")
	}
	// The loop's own checks compare Unix nanoseconds: time.Time's
	// comparisons, minding the monotonic clock, would cost the loop more
	// than some of the engine's steps it measures.
	due, wakes, pushes := d.Wake.UnixNano(), 0, 0

	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		st.Key++
		d, err := e.StanzaQueued(ctx, events.StanzaQueued{Now: now, Session: phone, Stanza: st})
		if err != nil {
			b.Fatal(err)
		}
		if now.UnixNano() >= due {
			wakes++
		}
		pushes += len(d.Publishes)
		if !d.Wake.IsZero() {
			due = d.Wake.UnixNano()
		}
	}
	if pushes != wakes {
		b.Fatalf("%d batches fell due and gave %d publishes, want one each", wakes, pushes)
	}
}

// benchStores caches the populated in-memory registry of
// BenchmarkOfflineMessage: the 1M one takes seconds to build and 600 MB, so
// it is built once and reused by the runs that follow (-count, -cpu) as
// long as they need the same size. Only one size is kept: a large live
// heap would slow every other benchmark down (the garbage collector marks
// it all at every cycle), so asking for another size, or starting another
// benchmark (benchNew), drops it first. The benchmarks only read it.
var benchStores struct {
	sync.Mutex
	users int
	store *benchStore
}

type benchStore struct {
	store *registry.Memory
	users []string
}

// benchDropStore forgets the cached registry and collects it.
func benchDropStore() {
	benchStores.Lock()
	defer benchStores.Unlock()
	if benchStores.store != nil {
		benchStores.store, benchStores.users = nil, 0
		runtime.GC()
	}
}

// benchRegistry returns a Memory holding n users with three registrations
// each (same push service, distinct 40-byte nodes). The registrations share
// one publish-options form: the offline path only copies the pointer
// (registry's BenchmarkRegistryMemory measures forms held individually).
func benchRegistry(b *testing.B, n int) *benchStore {
	benchStores.Lock()
	defer benchStores.Unlock()
	if benchStores.users == n {
		return benchStores.store
	}
	if benchStores.store != nil {
		benchStores.store, benchStores.users = nil, 0
		runtime.GC()
	}
	ctx := context.Background()
	form := registry.NewForm("submit",
		registry.Field{Var: "FORM_TYPE", Values: []string{publishOptionsNS}},
		registry.Field{Var: "secret", Values: []string{benchSecret}},
	)
	s := &benchStore{store: registry.NewMemory(), users: make([]string, n)}
	for i := range n {
		u := "user" + strconv.Itoa(i) + "@example.org"
		s.users[i] = u
		for j := range 3 {
			reg := registry.Registration{
				User: u, ID: registry.NewIdentifier(benchService, benchNodeN(3*i+j)),
				Options: form, Enabled: benchEpoch, Generation: uint64(3*i + j + 1),
			}
			if _, _, err := s.store.Save(ctx, reg, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchStores.store, benchStores.users = s, n
	return s
}

// BenchmarkOfflineMessage measures an offline message for a user with three
// registrations: three publish decisions, not encoded. The event goes
// through Engine.HandleInto with one Decisions, Reset before each event:
// the hot path of a host. Each iteration takes the next user in turn and a
// fresh stanza Key, so deduplication never suppresses a push.
//
// Virtual time advances 10 µs an event (100,000 offline messages a second,
// a heavily loaded server). No push service answers, so PublishTimeout is
// set to one second: unanswered publishes are then forgotten about as fast
// as answered ones would be, and the engine's table of pending publishes
// stays at its steady-state size (~300,000 entries) instead of growing with
// b.N. Everything else is the default configuration.
//
// The 73-hour DedupWindow never passes in virtual time, so every round of
// the users adds one remembered stanza to each. With 1k users the marks
// are full (256 stanzas) before timing starts; with 1M users, a round
// takes about as long as the default -benchtime, and longer runs measure
// users with more marks: -benchtime 6s ends with about five a user, past
// the four a user's state holds without allocating, and reports about
// 570 engine-B/user instead of 370, and a slower op. Compare 1M figures
// at the same -benchtime.
func BenchmarkOfflineMessage(b *testing.B) { benchOffline(b, true) }

// BenchmarkOfflineMessageHandler is BenchmarkOfflineMessage through
// Engine.OfflineMessage, which returns a new Decisions every time.
func BenchmarkOfflineMessageHandler(b *testing.B) { benchOffline(b, false) }

func benchOffline(b *testing.B, into bool) {
	for _, c := range []struct {
		name  string
		users int
	}{{"users=1k", 1_000}, {"users=1M", 1_000_000}} {
		b.Run(c.name, func(b *testing.B) {
			reg := benchRegistry(b, c.users)
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			e := benchEngine(b, push.Config{Store: reg.store, PublishTimeout: time.Second})
			ctx := context.Background()
			now := benchEpoch
			st := benchChat("", 0)
			i := 0
			var d push.Decisions
			step := func() {
				now = now.Add(10 * time.Microsecond)
				st.Key++
				user := reg.users[i]
				if i++; i == len(reg.users) {
					i = 0
				}
				ev := events.OfflineMessage{Now: now, User: user, Stanza: st}
				var err error
				if into {
					d.Reset()
					err = e.HandleInto(ctx, ev, &d)
				} else {
					d, err = e.OfflineMessage(ctx, ev)
				}
				if err != nil || len(d.Publishes) != 3 {
					b.Fatalf("offline message for %s: %d publishes, error %v", user, len(d.Publishes), err)
				}
			}
			// Warm up to the steady state before timing: at least 3 s of
			// virtual time, so that the pending publishes expire as fast as
			// they come, and every user at least once, so that the engine
			// already holds the user's dedup marks (as it does for every
			// user who got a push within DedupWindow). For 1k users, every
			// registration's marks are then full (256 keys).
			warm := max(300_000, c.users)
			for range warm {
				step()
			}
			// Collect the warm-up's garbage now, so that the timed loop
			// pays only for the collections its own allocations cause.
			runtime.GC()
			b.ReportAllocs()
			n := warm
			for b.Loop() {
				step()
				n++
			}
			// engine-B/user: the engine's heap per user served, mostly the
			// dedup marks of each of the user's registrations (kept for
			// DedupWindow, 73 h by default), plus the user's share of the
			// pending publishes (about 300,000 in all).
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(min(n, c.users)), "engine-B/user")
			runtime.KeepAlive(e)
		})
	}
}
