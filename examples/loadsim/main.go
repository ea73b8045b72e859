// Command loadsim runs a simulated XMPP server's push traffic through the
// push rules, as fast as it can, and prints throughput, per-handler latency
// and memory:
//
//	go run ./examples/loadsim -users 100000 -events 2000000
//
// Every user has two devices: a phone that enabled push (half the phones
// enabled a second registration too, with another push service) and a
// desktop client without push. The traffic: messages to hibernating phones
// (StanzaQueued), to users with a session (MessageArchived) or with none
// (OfflineMessage); phones whose connection drops (HibernationStarted, with
// their unacknowledged stanzas), that resume (HibernationEnded), whose
// acknowledgements are late (AckDelayed), whose hibernation runs out
// (SessionClosed, then their unacknowledged stanzas stored offline with the
// same Keys) and that come back (SessionOpened and <enable/> again);
// desktops coming and going; and the push service's answers
// (PublishResult), 2% of them errors (a third of those of type wait), 1%
// never coming, and always an error for the 0.5% of registrations whose
// device token is dead, so that those are removed after MaxErrors errors.
// A few users are busy: half of the traffic goes to 1% of the users.
//
// With -wait-burst D, the push services are overloaded for the first D of
// every burstPeriod of virtual time: every answer is then a wait error
// (resource-constraint). The engine then retries with back-off
// (burstPolicy), counting a push whose retry budget runs out as a
// failure; the report's "live" figure says how many registrations of
// working tokens were removed all the same (it should be 0, as with no
// bursts).
//
// Time is virtual: the simulation's clock starts at a fixed date and moves
// forward by a random gap before each action (on average one action per
// user every 50 seconds), so a run covers minutes of server time in
// seconds. Wall-clock time is only used to measure the engine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.users, "users", 100_000, "number of simulated users")
	flag.IntVar(&cfg.events, "events", 1_000_000, "number of events to run through the engine after setup")
	flag.Uint64Var(&cfg.seed, "seed", 1, "random seed")
	flag.DurationVar(&cfg.burst, "wait-burst", 0, "answer every publish with a wait error for this long at the start of every 5 minutes of virtual time")
	flag.Parse()
	if err := run(os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadsim:", err)
		os.Exit(1)
	}
}

type config struct {
	users  int
	events int
	seed   uint64
	burst  time.Duration
}

func run(out io.Writer, cfg config) error {
	if cfg.users < 1 || cfg.events < 1 {
		return errors.New("-users and -events must be positive")
	}
	s := &sim{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.seed, 1)),
		srng:    rand.New(rand.NewPCG(cfg.seed, 2)),
		store:   &countingStore{Memory: registry.NewMemory()},
		dead:    make(map[string]bool),
		latency: make(map[string][]time.Duration),
	}
	s.clock.Store(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).UnixNano())
	s.start = s.now()
	s.store.dead = s.dead
	ecfg := push.Config{Store: s.store, IDPrefix: "push-", IDSecret: "example"}
	if cfg.burst > 0 {
		ecfg.Errors = burstPolicy
	}
	engine, err := push.New(ecfg)
	if err != nil {
		return err
	}
	s.engine = engine
	// The Driver executes every decision: replies and timeouts through the
	// callbacks, publishes through the Sender. Its clock is the virtual
	// one; every event carries its Now anyway.
	//
	// The Driver also arms a real timer for each batch that falls due;
	// with a virtual clock that runs much faster than the real one, that
	// timer would fire far too late. So the host wakes the engine itself
	// from the virtual clock (Engine.Wake, then Driver.Execute for what it
	// decides, see wake), at most every batchTick of virtual time. The
	// Driver's own timer stays armed and may still fire about once a real
	// second; it then wakes the engine at the virtual time of that moment,
	// as a second host thread would, which is harmless (the engine is safe
	// for concurrent use and the Sender locks), but makes the figures of
	// two runs with the same seed differ slightly. The report says how
	// many publishes came that way (typically under 1%).
	s.driver, err = push.NewDriver(engine, push.DriverConfig{
		Sender: push.SenderFunc(s.send),
		Reply: func(r push.Reply) {
			if r.Error != nil {
				s.mu.Lock()
				s.replyErrors++
				s.mu.Unlock()
			}
		},
		Timeout: func(push.Timeout) {
			s.mu.Lock()
			s.timeouts++
			s.mu.Unlock()
		},
		Now: s.now,
	})
	if err != nil {
		return err
	}
	defer s.driver.Close()
	ctx := context.Background()

	for i := range 1000 {
		s.contacts = append(s.contacts, "contact"+strconv.Itoa(i)+"@example.net/laptop")
	}
	fmt.Fprintf(out, "loadsim: %d users, %d events, seed %d, GOMAXPROCS %d\n", cfg.users, cfg.events, cfg.seed, runtime.GOMAXPROCS(0))

	// Setup: every user's phone connects and enables push, the desktops of
	// 30% of the users are online, and the phones settle: 70% hibernate,
	// 10% are gone, the rest stay online.
	start := time.Now()
	setupEvents := s.setup(ctx)
	setupWall := time.Since(start)
	fmt.Fprintf(out, "setup: %d events in %v (%.0f events/s)\n", setupEvents, setupWall.Round(time.Millisecond), float64(setupEvents)/setupWall.Seconds())
	s.latency = make(map[string][]time.Duration)
	s.mu.Lock()
	publishes0, removed0, live0 := s.publishes, s.store.removed.Load(), s.store.live.Load()
	s.mu.Unlock()

	// The measured phase.
	s.phase = true
	virtualStart := s.now()
	gap := 50 * time.Second / time.Duration(cfg.users)
	start = time.Now()
	for s.processed < cfg.events {
		s.clock.Add(int64(float64(gap) * s.rng.ExpFloat64()))
		s.deliverAnswers(ctx)
		s.wake(ctx)
		s.act(ctx)
	}
	wall := time.Since(start)
	virtual := s.now().Sub(virtualStart)

	s.mu.Lock()
	publishes := s.publishes - publishes0
	fmt.Fprintf(out, "run: %d events in %v wall, %v virtual\n", s.processed, wall.Round(time.Millisecond), virtual.Round(time.Second))
	fmt.Fprintf(out, "events/s: %.0f\n", float64(s.processed)/wall.Seconds())
	fmt.Fprintf(out, "publishes: %d (%.0f publishes/s; %d important)\n", publishes, float64(publishes)/wall.Seconds(), s.important)
	fmt.Fprintf(out, "publishes from the Driver's own timer: %d\n", s.timerPublishes)
	fmt.Fprintf(out, "publish errors: %d (wait %d, dead tokens %d); answers lost: %d\n", s.errorAnswers, s.waitAnswers, s.deadAnswers, s.lostAnswers)
	fmt.Fprintf(out, "registrations removed: %d (live %d)\n", s.store.removed.Load()-removed0, s.store.live.Load()-live0)
	fmt.Fprintf(out, "publishes retried: %d\n", engine.Stats().PublishesRetried)
	fmt.Fprintf(out, "handler errors: %d\n", s.handlerErrors)
	fmt.Fprintf(out, "reply errors: %d\n", s.replyErrors)
	fmt.Fprintf(out, "timeouts set: %d\n", s.timeouts)
	s.mu.Unlock()

	fmt.Fprintf(out, "%-20s %9s %10s %10s %10s %10s\n", "handler", "events", "p50", "p90", "p99", "max")
	names := make([]string, 0, len(s.latency))
	for name := range s.latency {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		d := s.latency[name]
		slices.Sort(d)
		q := func(p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
		fmt.Fprintf(out, "%-20s %9d %10v %10v %10v %10v\n", name, len(d), q(0.50), q(0.90), q(0.99), d[len(d)-1])
	}
	st := engine.Stats()
	fmt.Fprintf(out, "engine: %d users, %d sessions (%d bound), %d marks, %d pending publishes, %d batched stanzas\n",
		st.Users, st.Sessions, st.BoundSessions, st.Marks, st.PendingPublishes, st.BatchedStanzas)
	fmt.Fprintln(out, "metrics (Engine.Metrics, setup included):")
	if err := engine.Metrics().WriteTable(out); err != nil {
		return err
	}

	s.latency = nil
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(out, "heap in use: %.1f MiB (live objects %.1f MiB)\n", float64(ms.HeapInuse)/(1<<20), float64(ms.HeapAlloc)/(1<<20))
	runtime.KeepAlive(s)
	if s.firstHandleErr != nil {
		return fmt.Errorf("a handler failed: %w", s.firstHandleErr)
	}
	return nil
}
