package main

// The simulated push services: the Sender, their answers (a min-heap by due
// time), the overload bursts, and the store that counts removals.

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// burstPeriod is how often a -wait-burst starts.
const burstPeriod = 5 * time.Minute

// burstPolicy is the engine's error policy in runs with -wait-burst: a
// transient error is retried for up to 5 minutes, and a push whose budget
// runs out counts as a failure.
var burstPolicy = push.ErrorPolicy{Retry: push.RetryPolicy{Attempts: 8, Base: 5 * time.Second, Max: time.Minute,
	Within: 5 * time.Minute, CountExhausted: true}}

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
