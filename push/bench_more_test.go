package push_test

// This file holds the benchmarks beside the two hot paths: the machine's\n// yardstick, encoding a publish, enabling, and a parallel mix of events.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// BenchmarkDependentRead measures the machine, not the engine: one memory
// read whose address depends on the previous read, over a random cycle of
// cache lines spanning 1 MB, 64 MB and 1 GB. It is the yardstick for
// OfflineMessage's users=1M against users=1k: with a million users each
// offline message makes a few such reads (the store's table and the user's
// entries, the engine's table and the user's state) that a thousand users
// find in the caches, so the ratio of the two grows with what a read costs
// at the larger spans (the 1M benchmark holds about 840 MB).
func BenchmarkDependentRead(b *testing.B) {
	for _, mb := range []int{1, 64, 1024} {
		b.Run(fmt.Sprintf("span=%dMB", mb), func(b *testing.B) {
			const line = 8 // uint64s in a 64-byte cache line
			next := make([]uint64, mb<<17)
			order := rand.New(rand.NewPCG(1, 2)).Perm(len(next) / line)
			for i, l := range order {
				next[l*line] = uint64(order[(i+1)%len(order)] * line)
			}
			p := uint64(order[0] * line)
			for b.Loop() {
				p = next[p]
			}
			runtime.KeepAlive(p)
		})
	}
}

// BenchmarkPublishEncode measures encoding one publish IQ, with a
// publish-options form, into a reused buffer.
func BenchmarkPublishEncode(b *testing.B) {
	p := push.Publish{
		ID: "push-3f2a9c1b7d4e-1a2b3c", User: "juliet@example.org",
		Registration: registry.NewIdentifier(benchService, benchNode),
		Options: registry.NewForm("submit",
			registry.Field{Var: "FORM_TYPE", Values: []string{publishOptionsNS}},
			registry.Field{Var: "secret", Values: []string{benchSecret}},
		),
		Important: true, Body: "New Message!",
	}
	buf := p.AppendXML(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendXML(buf[:0])
	}
}

// BenchmarkEnable measures an <enable/> with a publish-options form, as
// XML, through Engine.Handle: parsing, validation, the store's read and write
// (the in-memory store) and binding the session. 10,000 users with one
// session each take turns; each user re-enables one of three nodes in
// turn, so after the first round every enable replaces a stored
// registration (the common case: clients enable push on every connect).
func BenchmarkEnable(b *testing.B) {
	const users = 10_000
	ctx := context.Background()
	e := benchNew(b, push.Config{})
	must := benchMust(b)
	sessions := make([]string, users)
	payloads := make([][]byte, 3*users)
	for i := range users {
		sessions[i] = "user" + strconv.Itoa(i) + "@example.org/phone"
		must(e.Handle(context.Background(), events.SessionOpened{Now: benchEpoch, Session: sessions[i]}))
		for j := range 3 {
			payloads[3*i+j] = benchEnable(benchNodeN(3*i+j), fmt.Sprintf("%020d", 3*i+j))
		}
	}
	now := benchEpoch
	i, round := 0, 0
	step := func() {
		now = now.Add(10 * time.Microsecond)
		d, err := e.Handle(ctx, events.IQ{Now: now, Session: sessions[i], ID: "e1", Payload: payloads[3*i+round]})
		if err != nil || len(d.Replies) != 1 || d.Replies[0].Error != nil {
			b.Fatalf("enable: %v %+v", err, d.Replies)
		}
		if i++; i == users {
			i, round = 0, (round+1)%3
		}
	}
	// The first round stores every registration; time the steady state.
	for range 3 * users {
		step()
	}
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

// BenchmarkParallelMixed runs a realistic mix of events over 10,000 users
// from b.RunParallel. Each user has a push-enabled phone (hibernating at
// the start) and a desktop session without push. Each goroutine draws
// events at random for random users, with its own virtual clock (1 ms an
// event, only ever forward; the goroutines' clocks drift a little apart,
// which the engine tolerates). The mix, per 100 events drawn: 40 stanzas
// queued to a phone, 15 offline messages, 15 archived messages, 5
// hibernation starts (with one unacknowledged stanza), 5 hibernation ends
// and 20 answers to publishes; besides, each goroutine answers its own
// publishes in order whenever 64 are waiting (so every publish is answered
// about 64 events later, and the engine's table of pending publishes stays
// small whatever the number of goroutines), 2% of answers being errors (a
// third of them of type wait), and calls Engine.Wake every 1,000 of its
// events (once a virtual second, the batch window). Like a host's worker,
// each goroutine feeds its events through Engine.HandleInto with one
// Decisions of its own. Compare ns/op at -cpu 1 and -cpu 2 for the
// scaling, over several interleaved runs on a shared machine.
func BenchmarkParallelMixed(b *testing.B) {
	const users = 10_000
	ctx := context.Background()
	e := benchNew(b, push.Config{})
	must := benchMust(b)
	type user struct{ bare, phone string }
	us := make([]user, users)
	for i := range users {
		u := &us[i]
		u.bare = "user" + strconv.Itoa(i) + "@example.org"
		u.phone = u.bare + "/phone"
		desktop := u.bare + "/desktop"
		must(e.Handle(context.Background(), events.SessionOpened{Now: benchEpoch, Session: u.phone}))
		must(e.Handle(context.Background(), events.SessionOpened{Now: benchEpoch, Session: desktop}))
		must(e.Handle(ctx, events.IQ{Now: benchEpoch, Session: u.phone, ID: "e1",
			Payload: benchEnable(benchNodeN(i), fmt.Sprintf("%020d", i))}))
		must(e.HibernationStart(context.Background(), events.HibernationStarted{Now: benchEpoch, Session: u.phone}))
	}
	var seeds atomic.Uint64
	errUnavailable := &events.StanzaError{Type: "cancel", Condition: "service-unavailable"}
	errWait := &events.StanzaError{Type: "wait", Condition: "resource-constraint"}

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := seeds.Add(1)
		rng := rand.New(rand.NewPCG(g, 0x5eed))
		now := benchEpoch
		key := events.Key(g << 40)
		// The publishes this goroutine made and has not answered yet, in
		// order (a ring; should it overflow, the oldest is dropped and
		// simply expires).
		type sent struct{ id, to string }
		var ring [1024]sent
		head, n := 0, 0
		remember := func(ps []push.Publish) {
			for i := range ps {
				ring[(head+n)%len(ring)] = sent{ps[i].ID, ps[i].To()}
				if n < len(ring) {
					n++
				} else {
					head = (head + 1) % len(ring)
				}
			}
		}
		count := 0
		var d push.Decisions // reused: each event's decisions are done with before the next
		var queue [1]events.Stanza
		for pb.Next() {
			now = now.Add(time.Millisecond)
			if count++; count%1000 == 0 {
				remember(e.Wake(context.Background(), now).Publishes)
				continue
			}
			u := &us[rng.IntN(users)]
			key++
			d.Reset()
			var err error
			r := rng.IntN(100)
			if n >= 64 {
				r = 100 // answer the oldest publish
			}
			switch {
			case r < 40:
				err = e.HandleInto(ctx, events.StanzaQueued{Now: now, Session: u.phone, Stanza: benchChat(u.phone, key)}, &d)
			case r < 55:
				err = e.HandleInto(ctx, events.OfflineMessage{Now: now, User: u.bare, Stanza: benchChat(u.bare, key)}, &d)
			case r < 70:
				err = e.HandleInto(ctx, events.MessageArchived{Now: now, User: u.bare, Stanza: benchChat(u.bare, key)}, &d)
			case r < 75:
				queue[0] = benchChat(u.phone, key)
				err = e.HandleInto(ctx, events.HibernationStarted{Now: now, Session: u.phone, Queue: queue[:]}, &d)
			case r < 80:
				err = e.HandleInto(ctx, events.HibernationEnded{Now: now, Session: u.phone}, &d)
			default:
				if n == 0 {
					continue
				}
				s := ring[head]
				ring[head] = sent{}
				head, n = (head+1)%len(ring), n-1
				ev := events.PublishResult{Now: now, ID: s.id, From: s.to}
				if x := rng.IntN(150); x < 2 {
					ev.Error = errUnavailable
				} else if x < 3 {
					ev.Error = errWait
				}
				err = e.HandleInto(ctx, ev, &d)
			}
			if err != nil {
				b.Error(err)
				return
			}
			remember(d.Publishes)
		}
	})
}
