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
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushrules/pushrules/events"
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

// burstPeriod is how often a -wait-burst starts.
const burstPeriod = 5 * time.Minute

// burstPolicy is the engine's error policy in runs with -wait-burst: a
// transient error is retried for up to 5 minutes, and a push whose budget
// runs out counts as a failure.
var burstPolicy = push.ErrorPolicy{Retry: push.RetryPolicy{Attempts: 8, Base: 5 * time.Second, Max: time.Minute,
	Within: 5 * time.Minute, CountExhausted: true}}

const (
	service1 = "push.example.net" // every phone's push service
	service2 = "push.example.com" // the second registration's
	// batchTick is how often, at most, the host wakes the engine for due
	// batches ("at, or soon after" the time the engine asks for).
	batchTick = 100 * time.Millisecond
)

// Phone states.
const (
	online = iota
	hibernating
	closed
)

type user struct {
	bare, phone, desktop string
	enable               [2][]byte // the phone's <enable/> payloads; [1] nil for none
	phoneState           uint8
	desktopOnline        bool
	// unacked is the phone's queue of unacknowledged stanzas (the last
	// few), for AckDelayed, HibernationStarted and the offline re-handling
	// when a hibernation runs out.
	unacked []events.Stanza
}

// answer is a push service's answer, due at a virtual time.
type answer struct {
	due time.Time
	ev  events.PublishResult
}

// sim is the simulated host. The Sender and the counters it updates are
// guarded by mu: the Driver may call the Sender from its timer goroutine.
type sim struct {
	cfg    config
	rng    *rand.Rand
	clock  atomic.Int64 // virtual time, Unix nanoseconds
	engine *push.Engine
	driver *push.Driver
	store  *countingStore
	users  []user
	key    events.Key
	// contacts and bodies are shared by all stanzas, as a host's stanzas
	// would point into its own buffers.
	contacts []string

	mu             sync.Mutex
	srng           *rand.Rand // the push service's randomness
	answers        []answer   // a min-heap by due time
	dead           map[string]bool
	publishes      int
	important      int
	errorAnswers   int
	waitAnswers    int
	deadAnswers    int
	lostAnswers    int
	replyErrors    int
	timerPublishes int // sent from the Driver's own timer goroutine
	timeouts       int
	handlerErrors  int
	firstHandleErr error

	// inLoop is set while the simulation loop is inside the Driver or the
	// engine, so that send can tell publishes decided by the Driver's own
	// timer (see run) from the loop's.
	inLoop    atomic.Bool
	latency   map[string][]time.Duration
	nextWake  time.Time // when the host next wakes the engine; zero: nothing due
	start     time.Time // the virtual clock's start
	processed int       // events handled in the measured phase
	phase     bool      // counting the measured phase
}

func (s *sim) now() time.Time { return time.Unix(0, s.clock.Load()).UTC() }

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

func enablePayload(service, node, secret string) []byte {
	return []byte(`<enable xmlns='urn:xmpp:push:0' jid='` + service + `' node='` + node + `'>` +
		`<x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
		`<field var='secret'><value>` + secret + `</value></field></x></enable>`)
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func (s *sim) random(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

func (s *sim) setup(ctx context.Context) int {
	n := 0
	s.users = make([]user, s.cfg.users)
	for i := range s.users {
		u := &s.users[i]
		u.bare = "user" + strconv.Itoa(i) + "@example.org"
		u.phone = u.bare + "/phone-" + s.random(8)
		u.desktop = u.bare + "/desktop"
		node := s.random(40)
		u.enable[0] = enablePayload(service1, node, s.random(20))
		if s.rng.IntN(200) == 0 {
			s.dead[node] = true
		}
		if i%2 == 0 {
			node := s.random(40)
			u.enable[1] = enablePayload(service2, node, s.random(20))
			if s.rng.IntN(200) == 0 {
				s.dead[node] = true
			}
		}
		n += s.open(ctx, u)
		if s.rng.IntN(10) < 3 {
			s.handle(ctx, events.SessionOpened{Now: s.now(), Session: u.desktop})
			u.desktopOnline = true
			n++
		}
		switch r := s.rng.IntN(10); {
		case r < 7:
			s.handle(ctx, events.HibernationStarted{Now: s.now(), Session: u.phone})
			u.phoneState = hibernating
			n++
		case r < 8:
			s.handle(ctx, events.SessionClosed{Now: s.now(), Session: u.phone})
			u.phoneState = closed
			n++
		}
	}
	return n
}

// open connects the phone and enables its registrations.
func (s *sim) open(ctx context.Context, u *user) int {
	s.handle(ctx, events.SessionOpened{Now: s.now(), Session: u.phone})
	u.phoneState = online
	n := 1
	for _, p := range u.enable {
		if p != nil {
			s.handle(ctx, events.IQ{Now: s.now(), Session: u.phone, ID: "push-enable", Payload: p})
			n++
		}
	}
	return n
}

// handle feeds one event through the Driver and records its latency.
func (s *sim) handle(ctx context.Context, ev events.Event) {
	s.inLoop.Store(true)
	t := time.Now()
	err := s.driver.Handle(ctx, ev)
	d := time.Since(t)
	s.inLoop.Store(false)
	if err != nil {
		s.mu.Lock()
		s.handlerErrors++
		if s.firstHandleErr == nil {
			s.firstHandleErr = err
		}
		s.mu.Unlock()
	}
	name := eventName(ev)
	s.latency[name] = append(s.latency[name], d)
	if s.phase {
		s.processed++
	}
	switch ev.(type) {
	case events.PublishResult:
		// A transient error may have scheduled a retry.
		if w := s.engine.NextWake(); !w.IsZero() && (s.nextWake.IsZero() || w.Before(s.nextWake)) {
			s.nextWake = w
		}
	case events.StanzaQueued, events.AckDelayed:
		// The batch this may have opened falls due one batch window
		// from now (or earlier, if it was already open).
		due := ev.Time().Add(s.engine.Config().BatchWindow)
		if s.nextWake.IsZero() || due.Before(s.nextWake) {
			s.nextWake = due
		}
	}
}

func eventName(ev events.Event) string {
	switch ev.(type) {
	case events.SessionOpened:
		return "SessionOpened"
	case events.SessionClosed:
		return "SessionClosed"
	case events.IQ:
		return "IQ"
	case events.AckDelayed:
		return "AckDelayed"
	case events.HibernationStarted:
		return "HibernationStarted"
	case events.StanzaQueued:
		return "StanzaQueued"
	case events.HibernationEnded:
		return "HibernationEnded"
	case events.MessageArchived:
		return "MessageArchived"
	case events.OfflineMessage:
		return "OfflineMessage"
	case events.PublishResult:
		return "PublishResult"
	}
	return fmt.Sprintf("%T", ev)
}

// wake processes the batches due by now: Engine.Wake, then the Driver
// executes the publishes (its Wake field is cleared, since this loop, not
// the Driver's timer, keeps the virtual time).
func (s *sim) wake(ctx context.Context) {
	now := s.now()
	if s.nextWake.IsZero() || now.Before(s.nextWake) {
		return
	}
	s.inLoop.Store(true)
	t := time.Now()
	dec := s.engine.Wake(context.Background(), now)
	next := dec.Wake
	dec.Wake = time.Time{}
	s.driver.Execute(ctx, dec)
	s.latency["Wake"] = append(s.latency["Wake"], time.Since(t))
	s.inLoop.Store(false)
	if !next.IsZero() && next.Before(now.Add(batchTick)) {
		next = now.Add(batchTick)
	}
	s.nextWake = next
}

// send is the Sender: it records the publish and schedules the push
// service's answer.
func (s *sim) send(_ context.Context, p push.Publish) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishes++
	if !s.inLoop.Load() {
		s.timerPublishes++
	}
	if p.Important {
		s.important++
	}
	r := s.srng.IntN(1000)
	if r < 10 {
		s.lostAnswers++
		return nil
	}
	a := answer{
		due: s.now().Add(20*time.Millisecond + time.Duration(s.srng.IntN(480))*time.Millisecond),
		ev:  events.PublishResult{ID: p.ID, From: p.To()},
	}
	switch {
	case s.inBurst():
		a.ev.Error = &events.StanzaError{Type: "wait", Condition: "resource-constraint"}
	case s.dead[p.Node()]:
		a.ev.Error = &events.StanzaError{Type: "cancel", Condition: "item-not-found"}
	case r < 17:
		a.ev.Error = &events.StanzaError{Type: "wait", Condition: "resource-constraint"}
	case r < 30:
		a.ev.Error = &events.StanzaError{Type: "cancel", Condition: "internal-server-error"}
	}
	s.pushAnswer(a)
	return nil
}

// deliverAnswers feeds back every answer due by now.
func (s *sim) deliverAnswers(ctx context.Context) {
	now := s.now()
	for {
		s.mu.Lock()
		if len(s.answers) == 0 || s.answers[0].due.After(now) {
			s.mu.Unlock()
			return
		}
		a := s.popAnswer()
		if a.ev.Error != nil {
			s.errorAnswers++
			switch {
			case a.ev.Error.Type == "wait":
				s.waitAnswers++
			case a.ev.Error.Condition == "item-not-found":
				s.deadAnswers++
			}
		}
		s.mu.Unlock()
		a.ev.Now = now
		s.handle(ctx, a.ev)
	}
}

func (s *sim) pushAnswer(a answer) {
	s.answers = append(s.answers, a)
	h := s.answers
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].due.Before(h[p].due) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (s *sim) popAnswer() answer {
	h := s.answers
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = answer{}
	h = h[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(h) && h[l].due.Before(h[m].due) {
			m = l
		}
		if r := l + 1; r < len(h) && h[r].due.Before(h[m].due) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.answers = h
	return top
}

// pick returns a user: half the time one of the busiest 1%, otherwise any.
func (s *sim) pick() *user {
	if hot := max(len(s.users)/100, 1); s.rng.IntN(2) == 0 {
		return &s.users[s.rng.IntN(hot)]
	}
	return &s.users[s.rng.IntN(len(s.users))]
}

// message returns a new stanza for u: mostly chat messages with a body,
// some encrypted, a few call proposals, and chat states (not important).
func (s *sim) message(u *user) events.Stanza {
	s.key++
	st := events.Stanza{Key: s.key, Kind: events.KindMessage, Type: "chat",
		From: s.contacts[s.rng.IntN(len(s.contacts))], To: u.bare}
	switch r := s.rng.IntN(100); {
	case r < 80:
		st.Body, st.HasBody = "See you at the orchard tonight?", true
	case r < 90:
		st.Body, st.HasBody, st.Encrypted = "This message is OMEMO encrypted.", true, true
	case r < 91:
		st.CallProposal = true
	}
	return st
}

func (u *user) remember(st events.Stanza) {
	if len(u.unacked) == 4 {
		u.unacked = slices.Delete(u.unacked, 0, 1)
	}
	u.unacked = append(u.unacked, st)
}

// act performs one random action of the simulated server: 60% messages,
// 40% changes of the user's sessions.
func (s *sim) act(ctx context.Context) {
	u := s.pick()
	now := s.now()
	if s.rng.IntN(100) < 60 {
		st := s.message(u)
		archived := st.HasBody || st.CallProposal
		switch {
		case u.phoneState == hibernating:
			s.handle(ctx, events.StanzaQueued{Now: now, Session: u.phone, Stanza: st})
			u.remember(st)
		case u.phoneState == online:
			if s.rng.IntN(10) < 3 { // not acknowledged yet
				u.remember(st)
			}
		case !u.desktopOnline:
			if archived {
				s.handle(ctx, events.OfflineMessage{Now: now, User: u.bare, Stanza: st})
			}
			return
		}
		if archived {
			s.handle(ctx, events.MessageArchived{Now: now, User: u.bare, Stanza: st})
		}
		return
	}
	r := s.rng.IntN(100)
	if r >= 70 { // the desktop comes or goes
		if u.desktopOnline {
			s.handle(ctx, events.SessionClosed{Now: now, Session: u.desktop})
		} else {
			s.handle(ctx, events.SessionOpened{Now: now, Session: u.desktop})
		}
		u.desktopOnline = !u.desktopOnline
		return
	}
	switch u.phoneState {
	case online:
		switch {
		case r < 40:
			s.handle(ctx, events.HibernationStarted{Now: now, Session: u.phone, Queue: slices.Clone(u.unacked)})
			u.phoneState = hibernating
		case r < 60:
			if len(u.unacked) > 0 {
				s.handle(ctx, events.AckDelayed{Now: now, Session: u.phone, Queue: slices.Clone(u.unacked)})
				u.unacked = u.unacked[:0]
			}
		default:
			s.handle(ctx, events.SessionClosed{Now: now, Session: u.phone})
			u.phoneState, u.unacked = closed, u.unacked[:0]
		}
	case hibernating:
		if r < 45 {
			s.handle(ctx, events.HibernationEnded{Now: now, Session: u.phone})
			u.phoneState, u.unacked = online, u.unacked[:0]
			return
		}
		// The hibernation runs out: the session is destroyed and its
		// unacknowledged stanzas are stored offline, with the same Keys.
		s.handle(ctx, events.SessionClosed{Now: now, Session: u.phone})
		u.phoneState = closed
		if !u.desktopOnline {
			for _, st := range u.unacked {
				s.handle(ctx, events.OfflineMessage{Now: now, User: u.bare, Stanza: st})
			}
		}
		u.unacked = u.unacked[:0]
	case closed:
		s.open(ctx, u)
	}
}

// inBurst reports whether the push services are overloaded now
// (-wait-burst). The caller holds mu.
func (s *sim) inBurst() bool {
	return s.cfg.burst > 0 && s.now().Sub(s.start)%burstPeriod < s.cfg.burst
}

// countingStore counts the registrations removed (by Delete: the only
// caller in this simulation is the removal after errors), and among them
// the live ones, whose device token works.
type countingStore struct {
	*registry.Memory
	removed, live atomic.Int64
	dead          map[string]bool // the sim's; written only during setup
}

func (c *countingStore) Delete(ctx context.Context, user string, ids ...registry.Identifier) ([]registry.Registration, error) {
	removed, err := c.Memory.Delete(ctx, user, ids...)
	c.removed.Add(int64(len(removed)))
	for _, r := range removed {
		if !c.dead[r.ID.Node()] {
			c.live.Add(1)
		}
	}
	return removed, err
}
