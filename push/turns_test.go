package push

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// gateStore calls hold before (or, with after set, after) every write
// and, with loads set, every read of the Store it wraps.
type gateStore struct {
	registry.Store
	loads, after bool
	hold         func()
}

func (g *gateStore) gate(after bool) {
	if g.hold != nil && after == g.after {
		g.hold()
	}
}

func (g *gateStore) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	if g.loads {
		g.gate(false)
		defer g.gate(true)
	}
	return g.Store.Load(ctx, user)
}

func (g *gateStore) Save(ctx context.Context, r registry.Registration, max int) (registry.Registration, []registry.Registration, error) {
	g.gate(false)
	defer g.gate(true)
	return g.Store.Save(ctx, r, max)
}

func (g *gateStore) Delete(ctx context.Context, user string, ids ...registry.Identifier) ([]registry.Registration, error) {
	g.gate(false)
	defer g.gate(true)
	return g.Store.Delete(ctx, user, ids...)
}

func (g *gateStore) DeleteUser(ctx context.Context, user string) ([]registry.Registration, error) {
	g.gate(false)
	defer g.gate(true)
	return g.Store.DeleteUser(ctx, user)
}

func (g *gateStore) AddError(ctx context.Context, user string, id registry.Identifier, gen uint64) (int, error) {
	g.gate(false)
	defer g.gate(true)
	return g.Store.AddError(ctx, user, id, gen)
}

// waiting reports how many operations of the user wait for its turn.
func (e *Engine) waiting(user string) int {
	sh, h := e.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if u := sh.users.get(h, user); u != nil {
		return len(u.waiters)
	}
	return 0
}

// checkStoredBindings checks that every session of the user bound to a
// registration is bound to one that is stored, and that hibernating each
// session publishes only to stored registrations.
func checkStoredBindings(t *testing.T, e *Engine, store registry.Store, now time.Time, sessions ...string) {
	t.Helper()
	ctx := context.Background()
	regs, err := store.Load(ctx, juliet)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(id registry.Identifier) bool {
		return slices.ContainsFunc(regs, func(r registry.Registration) bool { return r.ID == id })
	}
	for _, s := range sessions {
		if id, ok := e.Binding(s); ok && !stored(id) {
			t.Errorf("%s is bound to %s, which is not stored (stored: %v)", s, id, ids(regs))
		}
		d, err := e.HibernationStart(ctx, events.HibernationStarted{Now: now, Session: s,
			Queue: []events.Stanza{{Kind: events.KindMessage, Type: "chat", Body: "hello", HasBody: true}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Publishes {
			if !stored(p.Registration) {
				t.Errorf("%s published to %s, which is not stored", s, p.Registration)
			}
		}
	}
}

func ids(regs []registry.Registration) []registry.Identifier {
	out := make([]registry.Identifier, len(regs))
	for i := range regs {
		out[i] = regs[i].ID
	}
	return out
}

// userOp is one operation of juliet's that writes the Store.
type userOp struct {
	name string
	run  func(e *Engine, now time.Time) error
}

func enableOp(session, node string) userOp {
	return userOp{"enable " + node + " from " + session, func(e *Engine, now time.Time) error {
		_, err := e.Handle(context.Background(), events.IQ{Now: now, Session: session, ID: "e",
			Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='" + node + "'/>")})
		return err
	}}
}

func interleavingOps(lastA *atomic.Pointer[Publish]) []userOp {
	return []userOp{
		enableOp(phone, "A"),
		enableOp(desktop, "C"), // evicts the least recently enabled at MaxDevices 2
		{"disable A from tablet", func(e *Engine, now time.Time) error {
			_, err := e.Handle(context.Background(), events.IQ{Now: now, Session: tablet, ID: "d",
				Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/>")})
			return err
		}},
		{"delete user", func(e *Engine, now time.Time) error {
			_, err := e.Handle(context.Background(), events.UserDeleted{Now: now, User: juliet})
			return err
		}},
		{"publish error at MaxErrors", func(e *Engine, now time.Time) error {
			p := lastA.Load()
			if p == nil {
				return nil
			}
			_, err := e.Handle(context.Background(), events.PublishResult{Now: now, ID: p.ID, From: service,
				Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found"}})
			return err
		}},
	}
}

// TestInterleavings runs every ordered pair of juliet's store-writing
// operations so that the second is handed in while the first is inside
// its Store call, and checks that no session stays bound to a
// registration that is not stored and that nothing is published to one.
// Before per-user turns, a disable handed in while an enable's Save ran
// answered result, the store ended with no registration, and the enabling
// session stayed bound and kept publishing to it.
func TestInterleavings(t *testing.T) {
	for _, mode := range []struct{ loads, after bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
		var lastA atomic.Pointer[Publish]
		ops := interleavingOps(&lastA)
		for _, first := range ops {
			for _, second := range ops {
				t.Run(fmt.Sprintf("%s then %s (%+v)", first.name, second.name, mode), func(t *testing.T) {
					gate := &gateStore{Store: registry.NewMemory(), loads: mode.loads, after: mode.after}
					e, err := New(Config{Store: gate, MaxDevices: 2, MaxErrors: 1, IDPrefix: "t-"})
					if err != nil {
						t.Fatal(err)
					}
					ctx := context.Background()
					now := at(0)
					for _, s := range []string{phone, tablet, desktop} {
						if _, err := e.Handle(ctx, events.SessionOpened{Now: now, Session: s}); err != nil {
							t.Fatal(err)
						}
					}
					// A from phone, B from tablet; phone hibernates so that a publish to A is pending.
					for _, op := range []userOp{enableOp(phone, "A"), enableOp(tablet, "B")} {
						if err := op.run(e, now); err != nil {
							t.Fatal(err)
						}
					}
					d, err := e.HibernationStart(ctx, events.HibernationStarted{Now: now, Session: phone,
						Queue: []events.Stanza{{Key: 1, Kind: events.KindMessage, Type: "chat", Body: "x", HasBody: true}}})
					if err != nil || len(d.Publishes) != 1 {
						t.Fatalf("hibernation: %v, %+v", err, d.Publishes)
					}
					lastA.Store(&d.Publishes[0])
					if _, err := e.HibernationEnd(ctx, events.HibernationEnded{Now: now, Session: phone}); err != nil {
						t.Fatal(err)
					}

					// The first operation's Store calls wait until the second is handed in.
					// (Only the first Store call waits: the second operation's pass.)
					var held atomic.Bool
					secondIn := make(chan struct{})
					gate.hold = func() {
						if !held.CompareAndSwap(false, true) {
							return
						}
						for e.waiting(juliet) == 0 {
							select {
							case <-secondIn:
								return // the second did not wait for the turn
							default:
								runtime.Gosched()
							}
						}
					}
					var wg sync.WaitGroup
					wg.Add(2)
					go func() {
						defer wg.Done()
						if err := first.run(e, at(1)); err != nil {
							t.Error(err)
						}
					}()
					go func() {
						defer wg.Done()
						// Hand the second in only once the first holds the turn.
						for !e.busy(juliet) {
							runtime.Gosched()
						}
						defer close(secondIn)
						if err := second.run(e, at(1)); err != nil {
							t.Error(err)
						}
					}()
					wg.Wait()
					gate.hold = nil
					checkStoredBindings(t, e, gate.Store, at(2), phone, tablet, desktop)
				})
			}
		}
	}
}

// busy reports whether an operation of user holds its turn.
func (e *Engine) busy(user string) bool {
	sh, h := e.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	u := sh.users.get(h, user)
	return u != nil && u.busy
}

// TestInterleavingsRandom hands the same store-writing operations in from
// several goroutines at random and checks the same invariants after each
// round.
func TestInterleavingsRandom(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range rounds {
		mem := registry.NewMemory()
		after := round%2 == 1
		gate := &gateStore{Store: mem, loads: true, after: after, hold: runtime.Gosched}
		e, err := New(Config{Store: gate, MaxDevices: 2, MaxErrors: 1, IDPrefix: "t-"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var lastA atomic.Pointer[Publish]
		var key atomic.Uint64
		ops := interleavingOps(&lastA)
		ops = append(ops, enableOp(tablet, "B"), userOp{"hibernate phone", func(e *Engine, now time.Time) error {
			d, err := e.HibernationStart(ctx, events.HibernationStarted{Now: now, Session: phone,
				Queue: []events.Stanza{{Key: events.Key(key.Add(1)), Kind: events.KindMessage, Type: "chat", Body: "x", HasBody: true}}})
			for i := range d.Publishes {
				if d.Publishes[i].Registration == registry.NewIdentifier(service, "A") {
					lastA.Store(&d.Publishes[i])
				}
			}
			return err
		}})
		for _, s := range []string{phone, tablet, desktop} {
			if _, err := e.Handle(ctx, events.SessionOpened{Now: at(0), Session: s}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for g := range 4 {
			seq := make([]userOp, 6)
			for i := range seq {
				seq[i] = ops[rng.IntN(len(ops))]
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, op := range seq {
					if err := op.run(e, at(float64(g))); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		gate.hold = nil
		checkStoredBindings(t, e, mem, at(10), phone, tablet, desktop)
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
}
