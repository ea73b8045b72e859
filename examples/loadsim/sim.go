package main

// The simulated host: its users and state, and how it feeds events to the
// Driver and wakes the engine.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

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
