package push

import (
	"context"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// The lifecycle policy (Config.Errors) over Push 2.0 registrations, whose
// services answer errors only: an unanswered notification is a success,
// whatever ErrorPolicy.MaxTimeouts says.

// push2Lifecycle is an engine with one Push 2.0 registration, its
// session closed, and helpers to send it notifications.
type push2Lifecycle struct {
	t     *testing.T
	e     *Engine
	store *registry.Memory
	key   events.Key
}

func newPush2Lifecycle(t *testing.T, cfg Config) *push2Lifecycle {
	l := &push2Lifecycle{t: t, store: registry.NewMemory()}
	cfg.Store = l.store
	var err error
	if l.e, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	enabled2(t, l.e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
	mustHandle(t, l.e, events.SessionClosed{Now: at(1), Session: phone})
	return l
}

// notify sends one notification at sec and returns it, with the wake-up
// its decisions asked for.
func (l *push2Lifecycle) notify(sec float64) (Notification, time.Time) {
	l.t.Helper()
	l.key++
	d := mustHandle(l.t, l.e, events.OfflineMessage{Now: at(sec), User: juliet, Stanza: chat("x", l.key)})
	if len(d.Notifications) != 1 {
		l.t.Fatalf("at %v: %d notifications", sec, len(d.Notifications))
	}
	return d.Notifications[0], d.Wake
}

// fail sends a notification at sec and answers it with a permanent error.
func (l *push2Lifecycle) fail(sec float64) Decisions {
	l.t.Helper()
	n, _ := l.notify(sec)
	return mustHandle(l.t, l.e, events.PublishResult{Now: at(sec), ID: n.ID, From: service2,
		Error: &events.StanzaError{Type: "cancel", Condition: "service-unavailable"}})
}

// unanswered sends a notification at sec that no answer follows and
// wakes the engine when its decisions ask, which counts its success.
func (l *push2Lifecycle) unanswered(sec float64) {
	l.t.Helper()
	_, wake := l.notify(sec)
	if wake.IsZero() || wake.Before(at(sec).Add(l.e.cfg.PublishTimeout)) {
		l.t.Fatalf("a notification at %v asks for a wake-up at %v", sec, wake)
	}
	l.e.Wake(context.Background(), wake)
}

func (l *push2Lifecycle) stored() []registry.Registration { return stored2(l.t, l.store, juliet) }

// TestPush2ErrorRun: a run of error answers removes the registration at
// MaxErrors, and a notification left unanswered in between (a success)
// ends the run, with or without ErrorPolicy.MaxTimeouts.
func TestPush2ErrorRun(t *testing.T) {
	for _, maxTimeouts := range []int{0, 1} {
		l := newPush2Lifecycle(t, Config{MaxErrors: 2, Errors: ErrorPolicy{MaxTimeouts: maxTimeouts}})
		l.fail(2)
		l.unanswered(10)
		regs := l.stored()
		if len(regs) != 1 || regs[0].Errors != 0 || !regs[0].FailingSince.IsZero() || regs[0].LastSuccess.IsZero() ||
			regs[0].LastError != "service-unavailable" {
			t.Fatalf("MaxTimeouts %d: after an error and a success: %+v", maxTimeouts, regs)
		}
		l.fail(400)
		if regs := l.stored(); len(regs) != 1 || regs[0].Errors != 1 {
			t.Fatalf("MaxTimeouts %d: one error of a new run: %+v", maxTimeouts, regs)
		}
		d := l.fail(401)
		if regs := l.stored(); len(regs) != 0 {
			t.Fatalf("MaxTimeouts %d: after two errors in a row: %+v", maxTimeouts, regs)
		}
		if len(d.Changes) != 1 || d.Changes[0].Reason != ReasonFailed || d.Changes[0].Errors != 2 || d.Changes[0].Condition != "service-unavailable" {
			t.Errorf("MaxTimeouts %d: changes %+v", maxTimeouts, d.Changes)
		}
	}
}

// TestPush2FailureSpanWithoutTimeouts: without MaxTimeouts, a run of
// errors lasting FailureSpan removes the registration, and one broken by
// an unanswered notification starts again.
func TestPush2FailureSpanWithoutTimeouts(t *testing.T) {
	cfg := Config{MaxErrors: 100, Errors: ErrorPolicy{MaxPermanent: 100, FailureSpan: time.Hour}}
	l := newPush2Lifecycle(t, cfg)
	l.fail(2)
	l.fail(3000)
	if regs := l.stored(); len(regs) != 1 || regs[0].Errors != 2 || !regs[0].FailingSince.Equal(at(2)) {
		t.Fatalf("within the span: %+v", regs)
	}
	l.fail(3602)
	if regs := l.stored(); len(regs) != 0 {
		t.Fatalf("after an hour of errors: %+v", regs)
	}

	l = newPush2Lifecycle(t, cfg)
	l.fail(2)
	l.unanswered(10)
	l.fail(3602)
	if regs := l.stored(); len(regs) != 1 || regs[0].Errors != 1 || !regs[0].FailingSince.Equal(at(3602)) {
		t.Fatalf("a new run after a success: %+v", regs)
	}
}

// TestPush2Expiry: Config.Expiry removes a Push 2.0 registration neither
// enabled again nor successfully notified for that long; an unanswered
// notification is such a success.
func TestPush2Expiry(t *testing.T) {
	l := newPush2Lifecycle(t, Config{Expiry: time.Hour})
	l.unanswered(2)
	d, err := l.e.Expire(context.Background(), at(3000))
	if err != nil || len(d.Changes) != 0 || len(l.stored()) != 1 {
		t.Fatalf("expired within an hour of its last success: %+v, %v", d.Changes, err)
	}
	d, err = l.e.Expire(context.Background(), at(2+3600+300+10))
	if err != nil || len(d.Changes) != 1 || d.Changes[0].Reason != ReasonExpired || len(l.stored()) != 0 {
		t.Fatalf("after an hour unused: %+v, %v; stored %+v", d.Changes, err, l.stored())
	}
}
